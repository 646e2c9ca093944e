export { type CacheAccessOptions, redisAccess } from './access.js';
export {
  type CacheWriteOptions,
  createEncryptedCache,
  type EncryptedCache,
  type EncryptedCacheOptions,
} from './cache.js';
export { CacheCryptoErrorCode, InvalidToken } from './errors.js';
export { type DecryptOptions, Fernet } from './fernet.js';
export { type CacheResponseOptions, type CacheStatus, cacheResponse } from './middleware.js';
export { MultiFernet } from './multi-fernet.js';
export type { RotationOptions, RotationProgress, RotationResult } from './rotate.js';
