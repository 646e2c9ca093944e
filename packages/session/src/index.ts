export type { AuthContext, CreatedSession, SessionInfo } from './auth-context.js';
export { DEFAULT_COOKIE_NAME, type ResolvedCookie, type SessionCookieOptions } from './cookies.js';
export {
  CrossOriginRequestError,
  InvalidTokenError,
  SessionArgumentError,
  SessionErrorCode,
  SessionLimitError,
  type TokenRejection,
} from './errors.js';
export { DEFAULT_EVENT_CHANNEL, type SessionEvent, type SessionEventListener } from './events.js';
export { isUserId, MAX_METADATA_BYTES, MAX_ROLES, MAX_USER_ID_BYTES } from './ids.js';
export {
  CONNECTION_CLOSE,
  type ConnectionBinding,
  type ConnectionEnd,
  type ConnectionTarget,
  type LiveConnection,
} from './live.js';
export type { RouterLoginAttempt, RouterLoginLimiter } from './login-limiter.js';
export { type CreateSessionOptions, createSessionManager, type SessionManager } from './manager.js';
export {
  DEFAULT_ABSOLUTE_TIMEOUT_MS,
  DEFAULT_CLOCK_TOLERANCE_MS,
  DEFAULT_CONNECTION_RECHECK_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS_PER_USER,
  DEFAULT_REALM,
  DEFAULT_TOUCH_INTERVAL_MS,
  MAX_SESSIONS_PER_USER_LIMIT,
  type SessionManagerOptions,
} from './manager-options.js';
export { type AuthenticateOptions, requireRole, sendUnauthorized } from './middleware.js';
export {
  type CredentialsVerifier,
  type SessionRouterOptions,
  sessionRouter,
  type VerifiedUser,
} from './router.js';
export { type ParsedSessionId, parseSessionId } from './session-id.js';
export {
  type AsymmetricKeyInput,
  MIN_SECRET_BYTES,
  type SecretKeyInput,
  type SessionAlgorithm,
  type SigningKeyInput,
} from './signing-keys.js';
export type { SessionLimitPolicy } from './store.js';
export { MAX_TOKEN_BYTES } from './tokens.js';
