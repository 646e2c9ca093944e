import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OptionError } from '@sec/redis-guard';
import { decodeBase64UrlStrict, encodeBase64Url } from './base64url.js';
import { InvalidToken, invalidKeyError } from './errors.js';
import {
  BLOCK_LENGTH,
  checkTime,
  fillIv,
  HEADER_LENGTH,
  HMAC_LENGTH,
  nowSeconds,
  parseToken,
  toTimestamp,
  toTtl,
  VERSION,
} from './token.js';

/**
 * @example fernet.decrypt(token, { ttl: 300 } satisfies DecryptOptions)
 */
export interface DecryptOptions {
  /** Reject tokens older than this many seconds (and more than 60 s in the future). Default: no time check. */
  readonly ttl?: number;
}

/** What MultiFernet and the cache need beyond the public API; not exported from the package. */
export interface FernetInternals {
  /** The plaintext, or undefined when the HMAC or padding does not verify under this key. */
  open(fernet: Fernet, data: Buffer): Buffer | undefined;
  /** True when `data`'s HMAC verifies under this key. */
  verifies(fernet: Fernet, data: Buffer): boolean;
  seal(fernet: Fernet, plaintext: Uint8Array, timestamp: bigint, iv?: Uint8Array): string;
}

let internals: FernetInternals;

function toBytes(data: unknown): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  throw new OptionError(
    'data',
    `Fernet: data must be a string or a Uint8Array, got ${data === null ? 'null' : typeof data}`,
  );
}

/**
 * Fernet symmetric encryption (AES-128-CBC + HMAC-SHA256), byte-compatible with Python's
 * `cryptography.fernet.Fernet`. Keys are imported once; the key material lives in private fields
 * and never appears in `console.log` or `util.inspect` output.
 * @example
 * const f = new Fernet(Fernet.generateKey());
 * const token = f.encrypt('my deep dark secret');
 * f.decrypt(token).toString(); // 'my deep dark secret'
 */
export class Fernet {
  readonly #signingKey: Buffer;
  readonly #encryptionKey: Buffer;

  static {
    internals = {
      open: (fernet, data) => fernet.#open(data),
      verifies: (fernet, data) => fernet.#verifies(data),
      seal: (fernet, plaintext, timestamp, iv) => fernet.#seal(plaintext, timestamp, iv),
    };
  }

  /**
   * @param key 32 bytes in url-safe base64 with padding, as `Fernet.generateKey()` returns.
   * @throws ConfigurationError `ERR_SEC_CACHE_INVALID_KEY` for anything else.
   */
  constructor(key: string) {
    if (typeof key !== 'string')
      throw invalidKeyError(`must be a string, got ${key === null ? 'null' : typeof key}`);
    const bytes = decodeBase64UrlStrict(key.trim());
    if (bytes === undefined) {
      throw invalidKeyError(`is not strict url-safe base64 with padding (${key.trim().length} characters)`);
    }
    if (bytes.length !== 32) throw invalidKeyError(`decodes to ${bytes.length} bytes instead of 32`);
    // Copies, so the caller's buffer can be wiped and ours is not a view of a shared pool.
    this.#signingKey = Buffer.from(bytes.subarray(0, 16));
    this.#encryptionKey = Buffer.from(bytes.subarray(16));
    bytes.fill(0);
  }

  /**
   * A new random key, as Python's `Fernet.generate_key()`.
   * @example process.env.REDIS_ENCRYPTION_KEY = Fernet.generateKey();
   */
  static generateKey(): string {
    return encodeBase64Url(randomBytes(32));
  }

  /**
   * Encrypts with the current time. Strings are encoded as UTF-8.
   * @example const token = fernet.encrypt(JSON.stringify({ a: 1 }));
   */
  encrypt(data: string | Uint8Array): string {
    return this.#seal(toBytes(data), nowSeconds());
  }

  /**
   * Encrypts as if at `currentTime` (Unix seconds).
   * @example fernet.encryptAtTime('hello', 499162800)
   */
  encryptAtTime(data: string | Uint8Array, currentTime: number | bigint): string {
    return this.#seal(toBytes(data), toTimestamp(currentTime, 'currentTime'));
  }

  /**
   * Verifies and decrypts. With `ttl`, also rejects tokens older than `ttl` seconds or more than
   * 60 s in the future.
   * @throws InvalidToken for every kind of failure.
   * @example fernet.decrypt(token, { ttl: 300 }).toString('utf8')
   */
  decrypt(token: string | Uint8Array, options: DecryptOptions = {}): Buffer {
    const ttl = options.ttl === undefined ? undefined : toTtl(options.ttl, 'ttl');
    const data = parseToken(token);
    if (ttl !== undefined) checkTime(data.readBigUInt64BE(1), ttl, nowSeconds());
    return this.#openOrThrow(data);
  }

  /**
   * `decrypt` with an explicit ttl and clock, for tests and replays.
   * @example fernet.decryptAtTime(token, 60, 499162801)
   */
  decryptAtTime(token: string | Uint8Array, ttl: number, currentTime: number | bigint): Buffer {
    const checkedTtl = toTtl(ttl, 'ttl');
    const now = toTimestamp(currentTime, 'currentTime');
    const data = parseToken(token);
    checkTime(data.readBigUInt64BE(1), checkedTtl, now);
    return this.#openOrThrow(data);
  }

  /**
   * The token's creation time in Unix seconds, after verifying its HMAC (the ciphertext is not
   * decrypted). A bigint because the field is 64 bits wide.
   * @example Number(fernet.extractTimestamp(token)) * 1000 // ms for new Date(...)
   */
  extractTimestamp(token: string | Uint8Array): bigint {
    const data = parseToken(token);
    if (!this.#verifies(data)) throw new InvalidToken();
    return data.readBigUInt64BE(1);
  }

  #openOrThrow(data: Buffer): Buffer {
    const plaintext = this.#open(data);
    if (plaintext === undefined) throw new InvalidToken();
    return plaintext;
  }

  #verifies(data: Buffer): boolean {
    const end = data.length - HMAC_LENGTH;
    const expected = createHmac('sha256', this.#signingKey).update(data.subarray(0, end)).digest();
    // Both sides are always 32 bytes here (parseToken enforces the length), as timingSafeEqual needs.
    return timingSafeEqual(expected, data.subarray(end));
  }

  #open(data: Buffer): Buffer | undefined {
    if (!this.#verifies(data)) return undefined;
    const decipher = createDecipheriv('aes-128-cbc', this.#encryptionKey, data.subarray(9, HEADER_LENGTH));
    // PKCS#7 is checked by hand: it saves final() and the copy that joining its output would cost.
    // No padding oracle arises, because the HMAC was verified first.
    decipher.setAutoPadding(false);
    const padded = decipher.update(data.subarray(HEADER_LENGTH, data.length - HMAC_LENGTH));
    const pad = padded[padded.length - 1] ?? 0;
    if (pad < 1 || pad > BLOCK_LENGTH) return undefined;
    for (let i = padded.length - pad; i < padded.length; i++) if (padded[i] !== pad) return undefined;
    return padded.subarray(0, padded.length - pad);
  }

  #seal(plaintext: Uint8Array, timestamp: bigint, iv?: Uint8Array): string {
    const cipherLength = (Math.floor(plaintext.length / BLOCK_LENGTH) + 1) * BLOCK_LENGTH;
    const macStart = HEADER_LENGTH + cipherLength;
    const out = Buffer.allocUnsafe(macStart + HMAC_LENGTH);
    out[0] = VERSION;
    out.writeBigUInt64BE(timestamp, 1);
    if (iv === undefined) fillIv(out, 9);
    else out.set(iv, 9);
    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, out.subarray(9, HEADER_LENGTH));
    const body = cipher.update(plaintext);
    body.copy(out, HEADER_LENGTH);
    cipher.final().copy(out, HEADER_LENGTH + body.length);
    createHmac('sha256', this.#signingKey).update(out.subarray(0, macStart)).digest().copy(out, macStart);
    return encodeBase64Url(out);
  }
}

/**
 * Access to Fernet's private operations for MultiFernet, the cache and the spec-vector tests.
 * Not part of the package's public API.
 */
export function fernetInternals(): FernetInternals {
  return internals;
}
