import { createHash, createHmac, randomBytes } from 'node:crypto';
import { fernetEncrypt, flipFernetBit, reencode } from './forge.js';

/**
 * Where cacheResponse() keeps a user's /api/profile: `sec:cache:<namespace>:res:u:<sha256(user)>:<sha256(url)>`
 * (packages/cache-crypto README "Key layout", middleware.ts).
 */
export function profileKey(user: string, url = '/api/profile'): string {
  const digest = (text: string) => createHash('sha256').update(text).digest('base64url');
  return `sec:cache:demo-profile:res:u:${digest(user)}:${digest(url)}`;
}

export interface FernetCase {
  readonly name: string;
  /** What is written to alice's entry before she asks for her profile. */
  readonly value: string | Buffer;
}

export interface FernetContext {
  /** The token the cache itself stored for alice / for bob. */
  readonly aliceEntry: string;
  readonly bobEntry: string;
  readonly aliceKey: string;
  readonly bobKey: string;
  readonly encryptionKey: string;
}

const envelope = (key: string, value: unknown, ttl = 60) => JSON.stringify({ key, ttl, value });

/** Re-MACs edited token bytes with the real signing half of the key: only the later checks may refuse it. */
function resign(encryptionKey: string, data: Buffer): string {
  const body = data.subarray(0, -32);
  const mac = createHmac('sha256', Buffer.from(encryptionKey, 'base64url').subarray(0, 16))
    .update(body)
    .digest();
  return reencode(Buffer.concat([body, mac]));
}

/**
 * Tampered entries planted in Redis, as someone with write access to Redis but not the Fernet key
 * could (bit flips, truncation, re-encoding, another user's entry, another key's entry, garbage),
 * plus entries made with the REAL key that must still be refused: stale, bound to another key,
 * malformed envelopes. None may be served (X-Cache: HIT).
 */
export function fernetCases(ctx: FernetContext): FernetCase[] {
  const token = ctx.aliceEntry;
  const bytes = Buffer.from(token, 'base64url');
  const cases: FernetCase[] = [];
  const add = (name: string, value: string | Buffer) => {
    // An edit that leaves the token as it was (no '=' to remove from a token whose length needs
    // none) is not tampering: the entry would rightly be served.
    if (value !== token) cases.push({ name, value });
  };
  const offsets: Array<[string, number]> = [
    ['version byte', 0],
    ['timestamp high byte', 1],
    ['timestamp low byte', 8],
    ['first IV byte', 9],
    ['last IV byte', 24],
    ['first ciphertext byte', 25],
    ['a ciphertext byte', 40],
    ['last ciphertext byte', bytes.length - 33],
    ['first HMAC byte', bytes.length - 32],
    ['last HMAC byte', bytes.length - 1],
  ];
  for (const [name, offset] of offsets) add(`bit flip: ${name}`, flipFernetBit(token, offset));
  add('last character dropped', token.slice(0, -1));
  add('HMAC cut off', reencode(bytes.subarray(0, -32)));
  add('header only', reencode(bytes.subarray(0, 25)));
  add('first half', token.slice(0, Math.floor(token.length / 2)));
  add(
    '16 bytes inserted before the HMAC',
    reencode(Buffer.concat([bytes.subarray(0, -32), randomBytes(16), bytes.subarray(-32)])),
  );
  add('"AAAA" appended', `${token}AAAA`);
  add('standard base64 alphabet', bytes.toString('base64'));
  add('padding removed', token.replace(/=+$/, ''));
  add('padding doubled', `${token}==`);
  add('surrounding whitespace', ` ${token}\n`);
  add('lower-cased', token.toLowerCase());
  add('empty string', '');
  add('"null"', 'null');
  add('plaintext JSON of another user', JSON.stringify({ user: 'admin', display_name: 'Admin' }));
  add('plaintext envelope', envelope(ctx.aliceKey, { user: 'admin' }));
  add('100 KB of garbage', 'g'.repeat(100_000));
  add('random binary', randomBytes(200));
  add("bob's valid entry under alice's key", ctx.bobEntry);
  const otherKey = `${randomBytes(32).toString('base64url')}=`;
  add('another Fernet key', fernetEncrypt(otherKey, envelope(ctx.aliceKey, { user: 'admin' })));
  add(
    'real key, an hour stale',
    fernetEncrypt(
      ctx.encryptionKey,
      envelope(ctx.aliceKey, { user: 'admin' }),
      Math.floor(Date.now() / 1000) - 3_600,
    ),
  );
  add(
    "real key, bound to bob's key",
    fernetEncrypt(ctx.encryptionKey, envelope(ctx.bobKey, { user: 'admin' })),
  );
  add(
    'real key, bound to no key',
    fernetEncrypt(ctx.encryptionKey, JSON.stringify({ ttl: 60, value: { user: 'admin' } })),
  );
  add('real key, envelope not JSON', fernetEncrypt(ctx.encryptionKey, 'not json'));
  add('real key, no value', fernetEncrypt(ctx.encryptionKey, JSON.stringify({ key: ctx.aliceKey, ttl: 60 })));
  add(
    'real key, ttl as a string',
    fernetEncrypt(ctx.encryptionKey, JSON.stringify({ key: ctx.aliceKey, ttl: '60', value: {} })),
  );
  add('real key, JSON null', fernetEncrypt(ctx.encryptionKey, 'null'));
  const version = Buffer.from(bytes);
  version[0] = 0x81;
  add('real MAC over version 0x81', resign(ctx.encryptionKey, version));
  const iv = Buffer.from(bytes);
  iv[9]! ^= 0xff;
  add('real MAC over a changed IV', resign(ctx.encryptionKey, iv));
  return cases;
}
