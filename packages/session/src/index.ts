export { redisAccess, type SessionAccessOptions } from './access.js';
export type { AuthContext, CreatedSession, SessionInfo } from './auth-context.js';
export type { SessionCookieOptions } from './cookies.js';
export type { SessionData, SessionDataOptions } from './data.js';
export {
  CrossOriginRequestError,
  InvalidTokenError,
  SessionArgumentError,
  type SessionDataLimit,
  SessionDataLimitError,
  SessionErrorCode,
  SessionLimitError,
  type TokenRejection,
} from './errors.js';
export type { SessionEvent, SessionEventListener } from './events.js';
export {
  CONNECTION_CLOSE,
  type ConnectionBinding,
  type ConnectionEnd,
  type ConnectionTarget,
  type LiveConnection,
} from './live.js';
export type { RouterLoginAttempt, RouterLoginLimiter } from './login-limiter.js';
export { type CreateSessionOptions, createSessionManager, type SessionManager } from './manager.js';
export type { SessionManagerOptions } from './manager-options.js';
export { type AuthenticateOptions, requireRole, sendUnauthorized } from './middleware.js';
export {
  type CredentialsVerifier,
  type SessionRouterOptions,
  sessionRouter,
  type VerifiedUser,
} from './router.js';
export { type ParsedSessionId, parseSessionId } from './session-id.js';
export type {
  AsymmetricKeyInput,
  SecretKeyInput,
  SessionAlgorithm,
  SigningKeyInput,
} from './signing-keys.js';
