export type { AuthContext, CreatedSession, SessionInfo } from './auth-context.js';
export { DEFAULT_COOKIE_NAME, type ResolvedCookie, type SessionCookieOptions } from './cookies.js';
export { InvalidTokenError, SessionArgumentError, SessionErrorCode, type TokenRejection } from './errors.js';
export { DEFAULT_EVENT_CHANNEL, type SessionEvent, type SessionEventListener } from './events.js';
export { isUserId, MAX_METADATA_BYTES, MAX_ROLES, type ParsedSessionId, parseSessionId } from './ids.js';
export {
  type AsymmetricKeyInput,
  MIN_SECRET_BYTES,
  type SecretKeyInput,
  type SessionAlgorithm,
  type SigningKeyInput,
} from './keys.js';
export { type CreateSessionOptions, createSessionManager, type SessionManager } from './manager.js';
export { type AuthenticateOptions, requireRole, sendUnauthorized } from './middleware.js';
export {
  DEFAULT_ABSOLUTE_TIMEOUT,
  DEFAULT_CLOCK_TOLERANCE,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_KEY_PREFIX,
  DEFAULT_REALM,
  DEFAULT_TOUCH_INTERVAL,
  type Duration,
  type SessionManagerOptions,
} from './options.js';
export { type SessionRouterOptions, sessionRouter, type VerifiedUser } from './router.js';
export { MAX_TOKEN_BYTES } from './tokens.js';
