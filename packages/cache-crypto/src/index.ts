export { decodeBase64UrlStrict, encodeBase64Url } from './base64url.js';
export {
  createEncryptedCache,
  DEFAULT_TTL_SECONDS,
  type EncryptedCache,
  type EncryptedCacheOptions,
  MAX_KEY_LENGTH,
} from './cache.js';
export { CacheCryptoErrorCode, InvalidToken } from './errors.js';
export { type DecryptOptions, Fernet } from './fernet.js';
export { ENCRYPTION_KEY_VARIABLE } from './keys.js';
export { type CacheResponseOptions, type CacheStatus, cacheResponse } from './middleware.js';
export { MultiFernet } from './multi-fernet.js';
export {
  DEFAULT_ROTATION_BATCH_SIZE,
  type RotateNamespaceOptions,
  type RotationProgress,
  type RotationResult,
  rotateNamespace,
} from './rotate.js';
export { MAX_CLOCK_SKEW_SECONDS } from './token.js';
