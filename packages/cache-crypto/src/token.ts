import { randomFillSync } from 'node:crypto';
import { OptionError } from '@sec/redis-guard';
import { decodeBase64UrlStrict } from './base64url.js';
import { InvalidToken } from './errors.js';

export const VERSION = 0x80;
/** Version (1) + timestamp (8) + IV (16). */
export const HEADER_LENGTH = 25;
export const HMAC_LENGTH = 32;
export const BLOCK_LENGTH = 16;
/** Header, one cipher block (PKCS#7 always adds one), HMAC. */
const MIN_TOKEN_LENGTH = HEADER_LENGTH + BLOCK_LENGTH + HMAC_LENGTH;
/**
 * How far in the future a token's timestamp may lie, as in Python's `_MAX_CLOCK_SKEW`.
 */
export const MAX_CLOCK_SKEW_SECONDS = 60n;
const MAX_TIMESTAMP = 2n ** 64n - 1n;

/**
 * Decodes a token and checks its shape (version, length, whole cipher blocks) without the key.
 * Throws InvalidToken.
 */
export function parseToken(token: unknown): Buffer {
  const text =
    typeof token === 'string'
      ? token
      : token instanceof Uint8Array
        ? Buffer.from(token).toString('latin1')
        : undefined;
  const data = text === undefined ? undefined : decodeBase64UrlStrict(text);
  if (
    data === undefined ||
    data.length < MIN_TOKEN_LENGTH ||
    data[0] !== VERSION ||
    (data.length - HEADER_LENGTH - HMAC_LENGTH) % BLOCK_LENGTH !== 0
  ) {
    throw new InvalidToken();
  }
  return data;
}

/**
 * Python's rule: expired when `timestamp + ttl < now`, too new when `now + 60 < timestamp`. BigInt
 * because a crafted timestamp may exceed 2^53.
 */
export function assertFresh(timestamp: bigint, ttlSeconds: number, now: bigint): void {
  if (timestamp + BigInt(ttlSeconds) < now || now + MAX_CLOCK_SKEW_SECONDS < timestamp)
    throw new InvalidToken();
}

/** Current Unix time in whole seconds, as Python's `int(time.time())`. */
export function nowSeconds(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

/**
 * A Unix time in seconds that fits the token's unsigned 64-bit field.
 */
export function toTimestamp(value: number | bigint, name: string): bigint {
  const ok = typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value));
  const timestamp = ok ? BigInt(value) : -1n;
  if (timestamp < 0n || timestamp > MAX_TIMESTAMP) {
    throw new OptionError(
      name,
      `${name} must be an integer number of seconds in [0, 2^64), got ${String(value)}`,
    );
  }
  return timestamp;
}

/**
 * A ttl in whole seconds (0 allowed: valid within the same second).
 */
export function toTtl(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new OptionError(
      name,
      `${name} must be a non-negative integer number of seconds, got ${String(value)}`,
    );
  }
  return value;
}

// One CSPRNG call per 256 IVs: a randomFillSync round trip costs more than encrypting 1 KiB's
// worth of AES, and IVs are public, so buffering them exposes nothing.
const IV_POOL = Buffer.allocUnsafeSlow(BLOCK_LENGTH * 256);
let ivOffset = IV_POOL.length;

/**
 * Writes a fresh random IV into `target` at `offset`.
 */
export function fillIv(target: Buffer, offset: number): void {
  if (ivOffset === IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  IV_POOL.copy(target, offset, ivOffset, ivOffset + BLOCK_LENGTH);
  ivOffset += BLOCK_LENGTH;
}
