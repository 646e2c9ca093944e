import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis } from '@sec/testing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { decodeRecord, encodeRecord, RECORD_LUA, type StoredSession } from '../src/record.js';

// The session record is written and read in two languages; both sides live in record.ts. These
// properties run the Lua side on a real redis-server against the TypeScript side.

const timestamp = fc.integer({ min: 0, max: 99_999_999_999_999 });
const session: fc.Arbitrary<StoredSession> = fc.record({
  handle: fc.constant('AAAAAAAAAAAAAAAAAAAAAA'),
  createdAt: timestamp,
  lastSeenAt: timestamp,
  expiresAt: timestamp,
  idleMs: fc.integer({ min: 1, max: 2 ** 40 }),
  tokenHash: fc.base64String({ maxLength: 44 }).map((s) => s.replace(/[+/=]/g, '_')),
  authAt: timestamp,
  // JSON metadata may hold the separator, digits and anything else.
  metadata: fc.oneof(
    fc.constant(''),
    fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())).map((o) => JSON.stringify(o)),
  ),
});

describe('the session record in TypeScript and in Lua', () => {
  let redis: RedisServer;
  let raw: Redis;
  /** Lua decode then encode: a record rewritten by a script is byte for byte the one read. */
  const throughLua = (text: string) =>
    raw.eval(
      `${RECORD_LUA}\nlocal r = decode(ARGV[1])\nif not r then return false end\nreturn encode(r)`,
      0,
      text,
    );

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis({ port: redis.port, lazyConnect: true });
    await raw.connect();
  });
  afterAll(async () => {
    raw?.disconnect();
    await redis?.stop();
  });

  it('Lua reads what TypeScript writes and writes it back unchanged; TypeScript reads it back', async () => {
    await fc.assert(
      fc.asyncProperty(session, async (s) => {
        const text = encodeRecord(s);
        const rewritten = await throughLua(text);
        expect(rewritten).toBe(text);
        expect(decodeRecord(s.handle, text)).toEqual(s);
      }),
      { numRuns: 300 },
    );
  });

  it('reads a record without authAt (the earlier layout) as authenticated at creation, in both languages', async () => {
    await fc.assert(
      fc.asyncProperty(session, async (s) => {
        const legacy = `${s.lastSeenAt}|${s.expiresAt}|${s.idleMs}|${s.createdAt}|${s.tokenHash}|${s.metadata}`;
        const expected = { ...s, authAt: s.createdAt };
        expect(decodeRecord(s.handle, legacy)).toEqual(expected);
        expect(await throughLua(legacy)).toBe(encodeRecord(expected));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what is not a record, in both languages', async () => {
    for (const text of ['', 'garbage', '1|2|3|', '1|2|3|4', 'a|2|3|4|h|5|', '-1|2|3|4|h|5|{}']) {
      expect(decodeRecord('h', text)).toBeUndefined();
      expect(await throughLua(text)).toBeNull();
    }
  });
});
