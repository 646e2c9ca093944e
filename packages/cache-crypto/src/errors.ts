import { ConfigurationError, SecError } from '@sec/redis-guard';

/**
 * Every code this package throws (each is in the README's table), and the type of those codes.
 * @example
 * try {
 *   createEncryptedCache({ redis: guard, namespace: 'profiles' });
 * } catch (error) {
 *   if (error instanceof SecError && error.code === CacheCryptoErrorCode.KeyMissing) console.error('set REDIS_ENCRYPTION_KEY');
 *   throw error;
 * }
 */
export const CacheCryptoErrorCode = {
  InvalidToken: 'ERR_SEC_INVALID_TOKEN',
  InvalidKey: 'ERR_SEC_CACHE_INVALID_KEY',
  KeyMissing: 'ERR_SEC_CACHE_KEY_MISSING',
} as const;

export type CacheCryptoErrorCode = (typeof CacheCryptoErrorCode)[keyof typeof CacheCryptoErrorCode];

declare module '@sec/redis-guard' {
  interface SecErrorCodes extends Record<CacheCryptoErrorCode, true> {}
}

/**
 * A Fernet token was rejected: malformed, not base64url, wrong version, bad HMAC, bad padding,
 * expired or from the future. One class and one message for every cause, as in Python's
 * `cryptography.fernet`, so that callers (and attackers) learn nothing about which check failed.
 * @example
 * function open(token: string): Buffer | undefined {
 *   try {
 *     return fernet.decrypt(token, { ttlSeconds: 60 });
 *   } catch (error) {
 *     if (error instanceof InvalidToken) return undefined;
 *     throw error;
 *   }
 * }
 */
export class InvalidToken extends SecError {
  constructor() {
    // 400: a token from a request that fails is the client's; the message reveals nothing.
    super(CacheCryptoErrorCode.InvalidToken, 'invalid Fernet token', { status: 400 });
  }
}

/** A Fernet key is not 32 bytes of strict, padded url-safe base64. The message never contains the key. */
export function invalidKeyError(problem: string, variable?: string): ConfigurationError {
  return new ConfigurationError(
    CacheCryptoErrorCode.InvalidKey,
    `Fernet key ${problem}. A key is 32 random bytes in url-safe base64 with "=" padding (44 characters); ` +
      "generate one with `sec-redis gen-key` or Python's Fernet.generate_key().",
    variable,
  );
}
