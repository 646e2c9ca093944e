/**
 * What the @sec packages share with each other and applications do not call: option checking,
 * guard resolution, secret masking, the 503 body for raw sockets and the pieces each package's
 * `redisAccess()` is built from. Published because the sibling packages import it at run time;
 * not part of the public API, and it may change in any release.
 * @internal
 * @packageDocumentation
 */
export { scriptCommands } from './acl.js';
export {
  type AdmissionPlan,
  type AdmissionStep,
  type AdmissionVerdict,
  type RedisWork,
  refusalRank,
  runPipelined,
} from './admission.js';
export { DEFAULT_COMMAND_TIMEOUT_MS } from './client.js';
export { readFlag } from './config.js';
export { isRedisGuard, toGuard } from './guard.js';
export { DEFAULT_KEY_PREFIX, keyPrefixOption } from './key-prefix.js';
export { maskingLogger } from './logger.js';
export { maskText, scrubError } from './mask.js';
export { unavailableBody } from './middleware.js';
export {
  checkOptions,
  nonNegativeInteger,
  type OptionKind,
  type OptionRule,
  type OptionSchema,
  oneOf,
  positiveInteger,
} from './options.js';
export { POSTURE_RULES } from './posture/audit.js';
export { type SpanAttributes, withSpan } from './telemetry.js';
