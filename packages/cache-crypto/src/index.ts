export { decodeBase64UrlStrict, encodeBase64Url } from './base64url.js';
export {
  type CacheWriteOptions,
  createEncryptedCache,
  DEFAULT_TTL_MS,
  type EncryptedCache,
  type EncryptedCacheOptions,
  MAX_KEY_LENGTH,
} from './cache.js';
export { ENCRYPTION_KEY_VARIABLE } from './encryption-keys.js';
export { CacheCryptoErrorCode, InvalidToken } from './errors.js';
export { type DecryptOptions, Fernet } from './fernet.js';
export { type CacheResponseOptions, type CacheStatus, cacheResponse } from './middleware.js';
export { MultiFernet } from './multi-fernet.js';
export {
  DEFAULT_ROTATION_BATCH_SIZE,
  type RotationOptions,
  type RotationProgress,
  type RotationResult,
} from './rotate.js';
export { MAX_CLOCK_SKEW_SECONDS } from './token.js';
