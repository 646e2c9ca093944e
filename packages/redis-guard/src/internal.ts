/**
 * What the @sec packages share with each other and applications do not call: option checking,
 * guard resolution and secret masking. Published because the sibling packages import it at run
 * time; not part of the public API, and it may change in any release.
 * @internal
 * @packageDocumentation
 */
export { DEFAULT_COMMAND_TIMEOUT_MS } from './client.js';
export { readFlag } from './config.js';
export { isRedisGuard, toGuard } from './guard.js';
export { maskingLogger } from './logger.js';
export { maskText, scrubError } from './mask.js';
export {
  checkOptions,
  nonNegativeInteger,
  type OptionKind,
  type OptionRule,
  type OptionSchema,
  oneOf,
  positiveInteger,
} from './options.js';
