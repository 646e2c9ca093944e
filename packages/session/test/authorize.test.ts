import { describe, expect, it } from '@jest/globals';
import type { StoredSession } from '../src/record.js';
import { authorize } from '../src/request-path.js';

// Step 4 of the request path as a pure function of what the store read: whatever the lookup
// holds, a session passes only when its record exists, is live and names this token.

const NOW = 1_750_000_000_000;
const record: StoredSession = {
  handle: 'AAAAAAAAAAAAAAAAAAAAAA',
  createdAt: NOW - 600_000,
  lastSeenAt: NOW - 30_000,
  expiresAt: NOW + 3_600_000,
  idleMs: 1_800_000,
  tokenHash: 'right-hash',
  authAt: NOW - 600_000,
  metadata: '',
};
const found = (session: StoredSession | undefined, exists = session !== undefined) => ({
  exists,
  session,
  roles: ['user'],
});

describe('authorize(): the session judgement of the request path', () => {
  it('lets a live session with the right token hash through, with its roles and last authentication', () => {
    expect(authorize(found(record), 'right-hash', NOW, 60_000)).toEqual({
      ok: true,
      roles: ['user'],
      authAt: record.authAt,
      touch: false,
    });
  });

  it('asks for a touch once lastSeenAt is touchAfterMs old, and not before', () => {
    expect(authorize(found(record), 'right-hash', NOW, 30_001)).toMatchObject({ ok: true, touch: false });
    expect(authorize(found(record), 'right-hash', NOW, 30_000)).toMatchObject({ ok: true, touch: true });
  });

  it.each<[string, ReturnType<typeof found>, string | undefined, { ok: false; drop: boolean }]>([
    ['no record', found(undefined), 'right-hash', { ok: false, drop: false }],
    ['a field that is not a record', found(undefined, true), 'right-hash', { ok: false, drop: true }],
    [
      'an idle-expired record',
      found({ ...record, lastSeenAt: NOW - 1_800_000 }),
      'right-hash',
      { ok: false, drop: true },
    ],
    [
      'an absolutely expired record',
      found({ ...record, expiresAt: NOW }),
      'right-hash',
      { ok: false, drop: true },
    ],
    ['another token of a live session', found(record), 'other-hash', { ok: false, drop: false }],
    [
      'an expired record and another token',
      found({ ...record, expiresAt: NOW - 1 }),
      'other-hash',
      { ok: false, drop: true },
    ],
  ])('refuses %s', (_name, lookup, tokenHash, verdict) => {
    expect(authorize(lookup, tokenHash, NOW, 60_000)).toEqual(verdict);
  });

  it('judges liveness alone when there is no token (a session id, for touch())', () => {
    expect(authorize(found(record), undefined, NOW, 60_000)).toMatchObject({ ok: true });
    expect(authorize(found({ ...record, expiresAt: NOW }), undefined, NOW, 60_000)).toEqual({
      ok: false,
      drop: true,
    });
  });
});
