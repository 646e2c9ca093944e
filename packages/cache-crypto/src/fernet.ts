import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OptionError } from '@sec/redis-guard';
import { checkOptions } from '@sec/redis-guard/internal';
import { decodeBase64UrlStrict, encodeBase64Url } from './base64url.js';
import { InvalidToken, invalidKeyError } from './errors.js';
import {
  assertFresh,
  BLOCK_LENGTH,
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
 * @example fernet.decrypt(token, { ttlSeconds: 300 } satisfies DecryptOptions)
 */
export interface DecryptOptions {
  /**
   * Reject tokens older than this many seconds (and more than 60 s in the future). Seconds, as
   * the Fernet timestamp and Python's `ttl`. Default: no time check.
   */
  readonly ttlSeconds?: number;
}

/**
 * Fernet's key operations, for Keyring below. Private fields are reachable only from inside the
 * class, so its static block hands these out once, within this module; nothing else can reach
 * a key.
 */
let keyOperations: {
  /** The plaintext, or undefined when the HMAC or padding does not verify under this key. */
  open(fernet: Fernet, data: Buffer): Buffer | undefined;
  /** True when `data`'s HMAC verifies under this key. */
  verifies(fernet: Fernet, data: Buffer): boolean;
  seal(fernet: Fernet, plaintext: Uint8Array, timestamp: bigint, iv?: Uint8Array): string;
};

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
    keyOperations = {
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
   * Encrypts as if at `currentTimeSeconds` (Unix seconds).
   * @example fernet.encryptAtTime('hello', 499162800)
   */
  encryptAtTime(data: string | Uint8Array, currentTimeSeconds: number | bigint): string {
    return this.#seal(toBytes(data), toTimestamp(currentTimeSeconds, 'currentTimeSeconds'));
  }

  /**
   * Verifies and decrypts. With `ttlSeconds`, also rejects tokens older than that many seconds or
   * more than 60 s in the future.
   * @throws InvalidToken for every kind of failure.
   * @example fernet.decrypt(token, { ttlSeconds: 300 }).toString('utf8')
   */
  decrypt(token: string | Uint8Array, options: DecryptOptions = NO_OPTIONS): Buffer {
    const ttl = ttlOption(options);
    const data = parseToken(token);
    if (ttl !== undefined) assertFresh(data.readBigUInt64BE(1), ttl, nowSeconds());
    return this.#openOrThrow(data);
  }

  /**
   * `decrypt` with an explicit ttl and clock (Unix seconds), for tests and replays.
   * @example fernet.decryptAtTime(token, 60, 499162801)
   */
  decryptAtTime(token: string | Uint8Array, ttlSeconds: number, currentTimeSeconds: number | bigint): Buffer {
    const ttl = toTtl(ttlSeconds, 'ttlSeconds');
    const now = toTimestamp(currentTimeSeconds, 'currentTimeSeconds');
    const data = parseToken(token);
    assertFresh(data.readBigUInt64BE(1), ttl, now);
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
 * Several keys as one, newest first: opens a token with whichever key verifies it, encrypts and
 * rotates with the newest. What MultiFernet and the encrypted cache are built on; not exported
 * from the package.
 */
export class Keyring {
  readonly #fernets: readonly Fernet[];

  /** @param fernets at least one, newest first */
  constructor(fernets: readonly Fernet[]) {
    this.#fernets = fernets;
  }

  /** The key that encrypts. */
  get primary(): Fernet {
    return this.#fernets[0]!;
  }

  /** True when any key verifies the token's HMAC. */
  verifies(data: Buffer): boolean {
    return this.#fernets.some((fernet) => keyOperations.verifies(fernet, data));
  }

  /** True when the newest key verifies the token: it needs no rotation. */
  isCurrent(data: Buffer): boolean {
    return keyOperations.verifies(this.primary, data);
  }

  /** The plaintext under whichever key verifies the token; undefined when none does. */
  open(data: Buffer): Buffer | undefined {
    for (const fernet of this.#fernets) {
      const plaintext = keyOperations.open(fernet, data);
      if (plaintext !== undefined) return plaintext;
    }
    return undefined;
  }

  /**
   * Encrypts under the newest key with the given timestamp; `iv` only for the specification's
   * test vectors (a fixed IV is never safe otherwise).
   */
  seal(plaintext: Uint8Array, timestamp: bigint, iv?: Uint8Array): string {
    return keyOperations.seal(this.primary, plaintext, timestamp, iv);
  }

  /** Re-encrypts under the newest key, keeping the timestamp. Throws InvalidToken when no key verifies. */
  rotate(data: Buffer): string {
    const plaintext = this.open(data);
    if (plaintext === undefined) throw new InvalidToken();
    return this.seal(plaintext, data.readBigUInt64BE(1));
  }
}

/**
 * The default of decrypt's options: no time check, nothing to validate.
 */
export const NO_OPTIONS: DecryptOptions = Object.freeze({});

/**
 * The `ttlSeconds` of decrypt options, checked: an unknown key (such as a `ttl`) throws rather than
 * silently dropping the time check.
 */
export function ttlOption(options: DecryptOptions): number | undefined {
  if (options === NO_OPTIONS) return undefined;
  checkOptions('decrypt', options, { ttlSeconds: 'number' });
  return options.ttlSeconds === undefined ? undefined : toTtl(options.ttlSeconds, 'ttlSeconds');
}
