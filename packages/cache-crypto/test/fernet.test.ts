import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { ConfigurationError, OptionError } from '@sec/redis-guard';
import { skipWithoutShared } from '@sec/testing';
import fc from 'fast-check';
import { decodeBase64UrlStrict, encodeBase64Url } from '../src/base64url.js';
import { Keyring } from '../src/fernet.js';
import { Fernet, InvalidToken, MultiFernet } from '../src/index.js';

interface Vector {
  token: string;
  now: string;
  secret: string;
  src?: string;
  iv?: number[];
  ttl_sec?: number;
  desc?: string;
}

const vectorDir = skipWithoutShared('vectors', 'fernet');
const load = (name: string): Vector[] => JSON.parse(readFileSync(join(vectorDir!, name), 'utf8')) as Vector[];
const seconds = (rfc3339: string) => Math.floor(Date.parse(rfc3339) / 1000);
const KEY = Fernet.generateKey();
const fernet = new Fernet(KEY);

function invalid(run: () => unknown): InvalidToken {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidToken);
    expect((error as InvalidToken).code).toBe('ERR_SEC_INVALID_TOKEN');
    expect((error as InvalidToken).message).toBe('invalid Fernet token');
    return error as InvalidToken;
  }
  throw new Error('expected InvalidToken');
}

(vectorDir ? describe : describe.skip)('Fernet spec vectors (../shared/vectors/fernet)', () => {
  it('generate.json: produces each token byte for byte from its key, time and IV', () => {
    const vectors = load('generate.json');
    expect(vectors.length).toBeGreaterThan(0);
    for (const v of vectors) {
      const token = new Keyring([new Fernet(v.secret)]).seal(
        Buffer.from(v.src!),
        BigInt(seconds(v.now)),
        Buffer.from(v.iv!),
      );
      expect(token).toBe(v.token);
    }
  });

  it('verify.json: decrypts each token at its time with its ttl', () => {
    const vectors = load('verify.json');
    expect(vectors.length).toBeGreaterThan(0);
    for (const v of vectors) {
      const f = new Fernet(v.secret);
      expect(f.decryptAtTime(v.token, v.ttl_sec!, seconds(v.now)).toString()).toBe(v.src);
      expect(new MultiFernet([fernet, f]).decryptAtTime(v.token, v.ttl_sec!, seconds(v.now)).toString()).toBe(
        v.src,
      );
    }
  });

  it('invalid.json: rejects every token with InvalidToken', () => {
    const vectors = load('invalid.json');
    expect(vectors.length).toBe(8);
    for (const v of vectors) {
      const f = new Fernet(v.secret);
      invalid(() => f.decryptAtTime(v.token, v.ttl_sec!, seconds(v.now)));
      invalid(() => new MultiFernet([fernet, f]).decryptAtTime(v.token, v.ttl_sec!, seconds(v.now)));
    }
  });
});

describe('Fernet keys', () => {
  it('generates 44-character padded keys of 32 random bytes', () => {
    const key = Fernet.generateKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(decodeBase64UrlStrict(key)).toHaveLength(32);
    expect(Fernet.generateKey()).not.toBe(key);
  });

  it.each([
    ['too short', encodeBase64Url(Buffer.alloc(16, 7))],
    ['too long', encodeBase64Url(Buffer.alloc(33, 7))],
    ['unpadded', KEY.slice(0, -1)],
    ['standard alphabet', `${KEY.slice(0, 10)}+${KEY.slice(11)}`],
    ['not base64', 'x'.repeat(44)],
    ['empty', ''],
  ])('refuses a key that is %s with ERR_SEC_CACHE_INVALID_KEY, without echoing it', (_name, key) => {
    let caught: unknown;
    try {
      new Fernet(key);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect((caught as ConfigurationError).code).toBe('ERR_SEC_CACHE_INVALID_KEY');
    if (key.length > 4) expect((caught as Error).message).not.toContain(key.slice(2, -2));
  });

  it('refuses a non-string key', () => {
    expect(() => new Fernet(Buffer.alloc(32) as unknown as string)).toThrow(ConfigurationError);
  });

  it('keeps key material out of inspect/console output', () => {
    const shown = `${inspect(fernet, { showHidden: true, depth: 5 })} ${JSON.stringify(fernet)}`;
    expect(shown).not.toContain(KEY.slice(0, 20));
    const raw = decodeBase64UrlStrict(KEY)!;
    expect(shown).not.toContain(raw.subarray(0, 16).toString('hex'));
  });
});

describe('Fernet tokens', () => {
  it('round-trips strings (as UTF-8) and bytes, returning a Buffer', () => {
    expect(fernet.decrypt(fernet.encrypt('héllo ✓')).toString('utf8')).toBe('héllo ✓');
    expect(fernet.decrypt(fernet.encrypt(new Uint8Array([0, 1, 255])))).toEqual(Buffer.from([0, 1, 255]));
    expect(fernet.decrypt(fernet.encrypt(''))).toEqual(Buffer.alloc(0));
    expect(fernet.encrypt('x')).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
  });

  it('uses a fresh IV each time', () => {
    const tokens = new Set(Array.from({ length: 600 }, () => fernet.encrypt('same')));
    expect(tokens.size).toBe(600);
  });

  it('accepts the token as bytes, as Python does', () => {
    const token = fernet.encrypt('bytes');
    expect(fernet.decrypt(Buffer.from(token, 'ascii')).toString()).toBe('bytes');
  });

  it('refuses data that is neither a string nor bytes', () => {
    expect(() => fernet.encrypt(42 as unknown as string)).toThrow(OptionError);
  });

  it('rejects tokens under another key, and non-token input, with InvalidToken', () => {
    const other = new Fernet(Fernet.generateKey());
    invalid(() => other.decrypt(fernet.encrypt('x')));
    invalid(() => fernet.decrypt(42 as unknown as string));
    invalid(() => fernet.decrypt(''));
    invalid(() => fernet.decrypt('gAAAAA=='));
  });

  it('rejects strict-base64 violations of an otherwise valid token', () => {
    const token = fernet.encrypt('payload!');
    expect(token.endsWith('=')).toBe(true);
    const body = token.replace(/=+$/, '');
    invalid(() => fernet.decrypt(body));
    invalid(() => fernet.decrypt(`${token}AAAA`));
    invalid(() => fernet.decrypt(`${token}\n`));
    invalid(() => fernet.decrypt(` ${token}`));
    // Standard base64 instead of base64url: only a token holding '-' or '_' differs in that alphabet.
    let urlSafe = token;
    while (!/[-_]/.test(urlSafe)) urlSafe = fernet.encrypt('payload!');
    invalid(() => fernet.decrypt(urlSafe.replace(/-/g, '+').replace(/_/g, '/')));
  });

  it('rejects a token whose version byte is not 0x80', () => {
    const data = decodeBase64UrlStrict(fernet.encrypt('v'))!;
    data[0] = 0x81;
    invalid(() => fernet.decrypt(encodeBase64Url(data)));
  });

  it('extractTimestamp returns the creation time after checking the HMAC', () => {
    expect(fernet.extractTimestamp(fernet.encryptAtTime('t', 1_700_000_000))).toBe(1_700_000_000n);
    invalid(() => new Fernet(Fernet.generateKey()).extractTimestamp(fernet.encrypt('t')));
  });
});

describe('ttl rules (as Python: expired when ts + ttl < now, too new when now + 60 < ts)', () => {
  const ts = 1_000_000;
  const token = fernet.encryptAtTime('t', ts);

  it('is valid up to and including ts + ttl, expired one second later', () => {
    expect(fernet.decryptAtTime(token, 10, ts + 10).toString()).toBe('t');
    invalid(() => fernet.decryptAtTime(token, 10, ts + 11));
    expect(fernet.decryptAtTime(token, 0, ts).toString()).toBe('t');
  });

  it('allows 60 s of clock skew into the future, not 61', () => {
    expect(fernet.decryptAtTime(token, 10, ts - 60).toString()).toBe('t');
    invalid(() => fernet.decryptAtTime(token, 10, ts - 61));
  });

  it('checks no time at all without a ttl', () => {
    const ancient = fernet.encryptAtTime('old', 0);
    const future = fernet.encryptAtTime('new', 2n ** 64n - 1n);
    expect(fernet.decrypt(ancient).toString()).toBe('old');
    expect(fernet.decrypt(future).toString()).toBe('new');
    invalid(() => fernet.decrypt(ancient, { ttlSeconds: 60 }));
    invalid(() => fernet.decrypt(future, { ttlSeconds: 60 }));
    expect(fernet.decrypt(fernet.encrypt('now'), { ttlSeconds: 60 }).toString()).toBe('now');
  });

  it('compares 64-bit timestamps exactly, beyond 2^53', () => {
    const big = 2n ** 53n + 1n;
    const t = fernet.encryptAtTime('big', big);
    expect(fernet.extractTimestamp(t)).toBe(big);
    // As doubles, 2^53 + 1 + 1 and 2^53 + 1 + 2 round to the same value; as bigints they differ.
    expect(fernet.decryptAtTime(t, 1, big + 1n).toString()).toBe('big');
    invalid(() => fernet.decryptAtTime(t, 1, big + 2n));
    invalid(() => fernet.decryptAtTime(t, 1, 2n ** 53n - 100n));
  });

  it('refuses malformed times and ttls as argument errors, not as token failures', () => {
    expect(() => fernet.encryptAtTime('x', -1)).toThrow(OptionError);
    expect(() => fernet.encryptAtTime('x', 2n ** 64n)).toThrow(OptionError);
    expect(() => fernet.encryptAtTime('x', 1.5)).toThrow(OptionError);
    expect(() => fernet.decrypt(token, { ttlSeconds: -1 })).toThrow(OptionError);
    expect(() => fernet.decryptAtTime(token, 1.5, ts)).toThrow(OptionError);
  });

  it("refuses an option it does not know (such as Python's `ttl`) rather than skip the time check", () => {
    const ancient = fernet.encryptAtTime('old', 1_000);
    for (const decrypt of [
      (options: object) => fernet.decrypt(ancient, options),
      (options: object) => new MultiFernet([fernet]).decrypt(ancient, options),
    ]) {
      expect(() => decrypt({ ttl: 60 })).toThrow(OptionError);
      expect(() => decrypt({ ttl: 60 })).toThrow(/unknown option "ttl".*ttlSeconds/);
      invalid(() => decrypt({ ttlSeconds: 60 }));
      expect(decrypt({}).toString()).toBe('old');
    }
  });
});

describe('MultiFernet', () => {
  const oldKey = new Fernet(Fernet.generateKey());
  const newKey = new Fernet(Fernet.generateKey());
  const multi = new MultiFernet([newKey, oldKey]);

  it('encrypts with the first key and decrypts with any', () => {
    expect(newKey.decrypt(multi.encrypt('a')).toString()).toBe('a');
    expect(multi.decrypt(oldKey.encrypt('b')).toString()).toBe('b');
    expect(multi.decrypt(newKey.encrypt('c'), { ttlSeconds: 10 }).toString()).toBe('c');
    invalid(() => multi.decrypt(new Fernet(Fernet.generateKey()).encrypt('d')));
  });

  it('accepts key strings as well as Fernet instances', () => {
    const key = Fernet.generateKey();
    expect(new MultiFernet([key]).decrypt(new Fernet(key).encrypt('s')).toString()).toBe('s');
    expect(() => new MultiFernet([])).toThrow(OptionError);
  });

  it('rotate re-encrypts under the first key and keeps the original timestamp', () => {
    const old = oldKey.encryptAtTime('rotate me', 1_234_567);
    const rotated = multi.rotate(old);
    expect(newKey.decrypt(rotated).toString()).toBe('rotate me');
    expect(newKey.extractTimestamp(rotated)).toBe(1_234_567n);
    expect(multi.extractTimestamp(old)).toBe(1_234_567n);
    invalid(() => oldKey.decrypt(rotated));
    invalid(() => multi.rotate(new Fernet(Fernet.generateKey()).encrypt('x')));
  });

  it('applies the ttl once, before trying keys', () => {
    const t = oldKey.encryptAtTime('x', 100);
    expect(multi.decryptAtTime(t, 10, 110).toString()).toBe('x');
    invalid(() => multi.decryptAtTime(t, 10, 111));
  });
});

describe('properties (fast-check)', () => {
  it('decrypt(encrypt(x)) == x for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(fernet.decrypt(fernet.encrypt(bytes))).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('any single-bit flip in the token bytes gives InvalidToken', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (bytes, at, bit) => {
          const data = decodeBase64UrlStrict(fernet.encrypt(bytes))!;
          data[at % data.length]! ^= 1 << bit;
          invalid(() => fernet.decrypt(encodeBase64Url(data)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('any single-bit flip in the token text gives InvalidToken', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.nat(),
        fc.integer({ min: 0, max: 6 }),
        (bytes, at, bit) => {
          const token = fernet.encrypt(bytes);
          const index = at % token.length;
          const flipped =
            token.slice(0, index) +
            String.fromCharCode(token.charCodeAt(index) ^ (1 << bit)) +
            token.slice(index + 1);
          invalid(() => fernet.decrypt(flipped));
        },
      ),
      { numRuns: 500 },
    );
  });
});
