/**
 * Base class of every error the @sec packages throw. `code` is stable across releases; match on it,
 * not on the message.
 * @example
 * try { validateRedisConfig(config) } catch (e) { if (e instanceof SecError) console.error(e.code) }
 */
export class SecError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Insecure or malformed configuration found at start-up. Never thrown at request time.
 * @example if (error instanceof ConfigurationError && error.code === 'ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION') ...
 */
export class ConfigurationError extends SecError {
  /** The environment variable or option to change. */
  readonly variable: string | undefined;

  constructor(code: string, message: string, variable?: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.variable = variable;
  }
}

/**
 * Redis cannot answer now (breaker open, client not ready, command timed out). Callers fail closed
 * and may retry after `retryAfterSeconds`.
 * @example if (error instanceof RedisUnavailableError) res.set('Retry-After', String(error.retryAfterSeconds))
 */
export class RedisUnavailableError extends SecError {
  readonly retryAfterSeconds: number;

  constructor(code: string, message: string, retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * A factory was called with an unknown option key or a value of the wrong type. A `TypeError`, as
 * helmet and jose throw, with the stable `code` every @sec error has.
 * @example rateLimit({ pionts: 5 }) // OptionError: rateLimit(): unknown option "pionts" — did you mean "points"?
 */
export class OptionError extends TypeError {
  readonly code = 'ERR_SEC_INVALID_OPTION';
  readonly option: string;

  constructor(option: string, message: string) {
    super(message);
    this.name = 'OptionError';
    this.option = option;
  }
}

/** Every code thrown by @sec/redis-guard, for exhaustive handling and the README table. */
export const RedisGuardErrorCode = {
  UnknownEnvironment: 'ERR_SEC_UNKNOWN_ENVIRONMENT',
  UrlMissing: 'ERR_SEC_REDIS_URL_MISSING',
  UrlInvalid: 'ERR_SEC_REDIS_URL_INVALID',
  PasswordConflict: 'ERR_SEC_REDIS_PASSWORD_CONFLICT',
  PlaintextInProduction: 'ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION',
  PasswordMissing: 'ERR_SEC_REDIS_PASSWORD_MISSING',
  PasswordTooShort: 'ERR_SEC_REDIS_PASSWORD_TOO_SHORT',
  LocalhostInProduction: 'ERR_SEC_REDIS_LOCALHOST_IN_PRODUCTION',
  TlsVerifyDisabled: 'ERR_SEC_REDIS_TLS_VERIFY_DISABLED',
  TlsVersionTooLow: 'ERR_SEC_REDIS_TLS_VERSION_TOO_LOW',
  TlsFileUnreadable: 'ERR_SEC_REDIS_TLS_FILE_UNREADABLE',
  TlsFileInvalid: 'ERR_SEC_REDIS_TLS_FILE_INVALID',
  InvalidFlag: 'ERR_SEC_INVALID_FLAG',
  MemoryModeInProduction: 'ERR_SEC_MEMORY_MODE_IN_PRODUCTION',
  ConnectFailed: 'ERR_SEC_REDIS_CONNECT_FAILED',
  Unavailable: 'ERR_SEC_REDIS_UNAVAILABLE',
  CircuitOpen: 'ERR_SEC_CIRCUIT_OPEN',
  Timeout: 'ERR_SEC_REDIS_TIMEOUT',
  ClientUnverified: 'ERR_SEC_REDIS_CLIENT_UNVERIFIED',
  CliUsage: 'ERR_SEC_CLI_USAGE',
  CliFileExists: 'ERR_SEC_CLI_FILE_EXISTS',
  CliCaRefused: 'ERR_SEC_CLI_CA_REFUSED',
} as const;

/**
 * True for RedisUnavailableError from any copy of this package: an app can load the ESM and the
 * CJS build side by side, and `instanceof` only matches errors of its own copy.
 * @example if (isRedisUnavailable(error)) return sendServiceUnavailable(res, guard);
 */
export function isRedisUnavailable(error: unknown): error is RedisUnavailableError {
  return (
    error instanceof RedisUnavailableError ||
    (error instanceof Error &&
      typeof (error as { retryAfterSeconds?: unknown }).retryAfterSeconds === 'number')
  );
}
