export { type CacheAccessOptions, redisAccess } from './access.js';
export {
  createEncryptedCache,
  type EncryptedCache,
  type EncryptedCacheOptions,
} from './cache.js';
export { CacheCryptoErrorCode, InvalidToken } from './errors.js';
export { type DecryptOptions, Fernet } from './fernet.js';
export { type CacheResponseOptions, type CacheStatus, cacheResponse } from './middleware.js';
export { MultiFernet } from './multi-fernet.js';
export {
  type RotateNamespaceOptions,
  type RotationProgress,
  type RotationResult,
  rotateNamespace,
} from './rotate.js';
