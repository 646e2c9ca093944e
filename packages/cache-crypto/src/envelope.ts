import { promisify } from 'node:util';
import { deflate, inflate } from 'node:zlib';
import { OptionError } from '@sec/redis-guard';
import type { Keyring } from './fernet.js';
import { MAX_CLOCK_SKEW_SECONDS, nowSeconds, parseToken } from './token.js';

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);
// Every zlib stream starts with 0x78 ('x'); JSON text never does, so no marker byte is needed.
const ZLIB_FIRST_BYTE = 0x78;

/**
 * What a cache entry's token decrypts to. The Redis key and ttl are sealed in with the value, so an
 * attacker who can write to Redis cannot move user A's entry under user B's key, nor replay an
 * entry after its ttl: both decrypt fine but fail these checks. `ttl` is in whole seconds, like
 * the Fernet timestamp it is added to (and as Python readers and writers of entries expect); a
 * ttl given in ms is rounded up into it, which only keeps the replay bound on the safe side of
 * the Redis expiry (exact, in ms) by under a second.
 */
interface Envelope {
  readonly key: string;
  readonly ttl: number;
  readonly value: unknown;
}

/** Why an entry was refused; logged, never returned to callers. */
export type RefusalReason = 'undecryptable' | 'malformed' | 'wrong-key' | 'stale';

export type Opened =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: RefusalReason };

/**
 * Serialises, optionally compresses, and encrypts a value for `redisKey` under the newest key.
 * Serialisation happens before the first await, so later changes to `value` do not leak into the
 * entry.
 */
export async function sealEntry(
  keys: Keyring,
  redisKey: string,
  ttlMs: number,
  value: unknown,
  compressAbove: number | undefined,
): Promise<string> {
  let json: string;
  try {
    json = JSON.stringify({ key: redisKey, ttl: Math.ceil(ttlMs / 1000), value } satisfies Envelope);
  } catch (error) {
    // BigInt or a cycle: the caller's value, not a fault of the cache.
    throw new OptionError('value', `cache values must be JSON-serialisable: ${(error as Error).message}`);
  }
  let plaintext: Uint8Array = Buffer.from(json, 'utf8');
  if (compressAbove !== undefined && plaintext.length >= compressAbove)
    plaintext = await deflateAsync(plaintext);
  return keys.primary.encrypt(plaintext);
}

/**
 * Decrypts an entry with any of the keys and checks that it belongs to `redisKey` and is within its
 * ttl (plus the 60 s clock skew Fernet allows).
 */
export async function openEntry(keys: Keyring, redisKey: string, token: string): Promise<Opened> {
  let data: Buffer;
  try {
    data = parseToken(token);
  } catch {
    return { ok: false, reason: 'undecryptable' };
  }
  let plaintext = keys.open(data);
  if (plaintext === undefined) return { ok: false, reason: 'undecryptable' };
  let envelope: Envelope;
  try {
    if (plaintext[0] === ZLIB_FIRST_BYTE) plaintext = await inflateAsync(plaintext);
    envelope = JSON.parse(plaintext.toString('utf8')) as Envelope;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (
    typeof envelope !== 'object' ||
    envelope === null ||
    !('value' in envelope) ||
    !Number.isSafeInteger(envelope.ttl)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (envelope.key !== redisKey) return { ok: false, reason: 'wrong-key' };
  if (data.readBigUInt64BE(1) + BigInt(envelope.ttl) + MAX_CLOCK_SKEW_SECONDS < nowSeconds()) {
    return { ok: false, reason: 'stale' };
  }
  return { ok: true, value: envelope.value };
}
