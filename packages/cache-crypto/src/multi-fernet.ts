import { OptionError } from '@sec/redis-guard';
import { InvalidToken } from './errors.js';
import { type DecryptOptions, Fernet, Keyring, NO_OPTIONS, ttlOption } from './fernet.js';
import { assertFresh, nowSeconds, parseToken, toTimestamp, toTtl } from './token.js';

/**
 * Several Fernet keys for rotation, as Python's `MultiFernet`: encrypts with the first, decrypts
 * with any. The token is decoded and time-checked once, then its HMAC is tried under each key.
 * @example
 * const [newKey, oldKey] = process.env.REDIS_ENCRYPTION_KEY!.split(',');
 * const multi = new MultiFernet([new Fernet(newKey!), new Fernet(oldKey!)]);
 * const fresh = multi.rotate(token); // same timestamp, now under newKey
 */
export class MultiFernet {
  readonly #keys: Keyring;

  /** @param fernets Fernet instances or keys, newest first. */
  constructor(fernets: Iterable<Fernet | string>) {
    const list = [...(fernets ?? [])].map((f) => (f instanceof Fernet ? f : new Fernet(f)));
    if (list.length === 0)
      throw new OptionError('fernets', 'MultiFernet requires at least one Fernet instance');
    this.#keys = new Keyring(list);
  }

  /** The key that encrypts. */
  get primary(): Fernet {
    return this.#keys.primary;
  }

  /**
   * Encrypts with the first key.
   * @example multi.encrypt('hello')
   */
  encrypt(data: string | Uint8Array): string {
    return this.primary.encrypt(data);
  }

  /**
   * Encrypts with the first key as if at `currentTimeSeconds` (Unix seconds).
   * @example multi.encryptAtTime('hello', 499162800)
   */
  encryptAtTime(data: string | Uint8Array, currentTimeSeconds: number | bigint): string {
    return this.primary.encryptAtTime(data, currentTimeSeconds);
  }

  /**
   * Decrypts with whichever key verifies; InvalidToken when none does.
   * @example multi.decrypt(token, { ttlSeconds: 300 })
   */
  decrypt(token: string | Uint8Array, options: DecryptOptions = NO_OPTIONS): Buffer {
    const ttl = ttlOption(options);
    const data = parseToken(token);
    if (ttl !== undefined) assertFresh(data.readBigUInt64BE(1), ttl, nowSeconds());
    return this.#open(data);
  }

  /**
   * `decrypt` with an explicit ttl and clock (Unix seconds).
   * @example multi.decryptAtTime(token, 60, 499162801)
   */
  decryptAtTime(token: string | Uint8Array, ttlSeconds: number, currentTimeSeconds: number | bigint): Buffer {
    const ttl = toTtl(ttlSeconds, 'ttlSeconds');
    const now = toTimestamp(currentTimeSeconds, 'currentTimeSeconds');
    const data = parseToken(token);
    assertFresh(data.readBigUInt64BE(1), ttl, now);
    return this.#open(data);
  }

  /**
   * The creation time of a token that any key verifies.
   * @example multi.extractTimestamp(token) // 499162800n
   */
  extractTimestamp(token: string | Uint8Array): bigint {
    const data = parseToken(token);
    if (!this.#keys.verifies(data)) throw new InvalidToken();
    return data.readBigUInt64BE(1);
  }

  /**
   * Re-encrypts a token under the first key, keeping its original timestamp (so its age, and any
   * ttl applied later, are unchanged). No ttl check, as in Python: rotation must reach old tokens.
   * @example await redisClient.set('k', multi.rotate((await redisClient.get('k'))!));
   */
  rotate(token: string | Uint8Array): string {
    return this.#keys.rotate(parseToken(token));
  }

  #open(data: Buffer): Buffer {
    const plaintext = this.#keys.open(data);
    if (plaintext === undefined) throw new InvalidToken();
    return plaintext;
  }
}
