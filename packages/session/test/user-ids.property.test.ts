import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isUserId, MAX_USER_ID_BYTES, randomId, userKey } from '../src/ids.js';
import { newSession, parseSessionId } from '../src/session-id.js';
import { decodePayload, manager, memoryGuard } from './helpers.js';

/** Any UTF-16 string, lone surrogates and control characters included. */
const anyString = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
/** Strings mixing the characters that break naive key schemes. */
const hostile = fc.string({
  unit: fc.constantFrom('{', '}', ' ', "'", '"', '*', '~', '.', ':', 'u', 'a', '🙂', 'é', '\\', '|', '%'),
  minLength: 1,
  maxLength: 60,
});

describe('user ids become Redis keys safely (fast-check)', () => {
  it('every accepted id survives the round trip through its session id', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, hostile), (id) => {
        fc.pre(isUserId(id));
        const { sessionId, handle } = newSession(id);
        expect(sessionId.slice(-22)).toBe(handle);
        expect(parseSessionId(sessionId)).toEqual({ userId: id, handle });
        // Nothing in the key can open or close a hash tag, so the user stays in one slot.
        expect(userKey(id)).not.toMatch(/[{}]/);
      }),
      { numRuns: 2_000 },
    );
  });

  it('two different ids never share a key', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, hostile), fc.oneof(anyString, hostile), (a, b) => {
        fc.pre(isUserId(a) && isUserId(b) && a !== b);
        expect(userKey(a)).not.toBe(userKey(b));
      }),
      { numRuns: 2_000 },
    );
  });

  it('a session id is accepted only in the one canonical spelling of its user', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyString,
          hostile,
          fc.base64String().map((b) => `~${b}`),
        ),
        (key) => {
          const parsed = parseSessionId(`${key}.${randomId()}`);
          if (parsed) expect(userKey(parsed.userId)).toBe(key);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it.each([
    ['an empty id', ''],
    ['a newline', 'a\nb'],
    ['a NUL', 'a\u0000'],
    ['a C1 control', 'a\u0085'],
    ['a lone surrogate', 'a\ud800'],
    ['513 bytes', 'x'.repeat(MAX_USER_ID_BYTES + 1)],
    ['129 emoji (516 bytes)', '🙂'.repeat(129)],
  ])('refuses %s', (_name, id) => {
    expect(isUserId(id)).toBe(false);
  });

  it.each([
    ['spaces and quotes', `o'brien "the" admin`],
    ['braces', 'a{b}c'],
    ['a hash tag', '{u:victim}'],
    ['a glob', '*'],
    ['what looks like an encoded key', '~YSBi'],
    ['emoji', '🙂 user'],
    ['non-ASCII e-mail', 'jörg@müller.de'],
    ['512 bytes', 'é'.repeat(256)],
  ])('accepts %s', (_name, id) => {
    expect(isUserId(id)).toBe(true);
  });

  it('rejects non-canonical encodings of an id', () => {
    const handle = randomId();
    // 'a' is plain: its encoded spelling would be a second key for the same user.
    expect(parseSessionId(`~${Buffer.from('a').toString('base64url')}.${handle}`)).toBeUndefined();
    // Invalid UTF-8 decodes with replacement characters: not the id it spells.
    expect(parseSessionId(`~${Buffer.from([0xff, 0x20]).toString('base64url')}.${handle}`)).toBeUndefined();
    // Non-zero unused bits in the last base64url character decode to the same bytes.
    expect(Buffer.from('YSB', 'base64url').toString()).toBe('a ');
    expect(parseSessionId(`~YSB.${handle}`)).toBeUndefined();
    expect(parseSessionId(`~YSA.${handle}`)).toEqual({ userId: 'a ', handle });
  });
});

describe('the largest ids still fit in a cookie', () => {
  const sessions = manager({ redis: memoryGuard(), cookie: true });
  afterAll(() => sessions.close());

  it.each([
    ['512 quotes (JSON doubles them)', '"'.repeat(MAX_USER_ID_BYTES)],
    ['128 emoji', '🙂'.repeat(128)],
  ])('%s', async (_name, id) => {
    const { accessToken } = await sessions.create(id);
    expect(decodePayload(accessToken).sub).toBe(id);
    const cookie = `${sessions.cookie!.name}=${accessToken}; Path=/; Expires=Thu, 01 Jan 2099 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax`;
    // Browsers keep cookies up to 4096 bytes of name, value and attributes.
    expect(Buffer.byteLength(cookie)).toBeLessThan(4096);
    await expect(sessions.verifyRequestToken(accessToken)).resolves.toMatchObject({ userId: id });
  });
});
