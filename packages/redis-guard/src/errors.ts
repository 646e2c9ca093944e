/**
 * Every code thrown by @sec/redis-guard (each is in the README's table), and the type of those codes.
 * @example
 * if (error instanceof SecError && error.code === RedisGuardErrorCode.CircuitOpen) console.warn('Redis circuit open');
 */
export const RedisGuardErrorCode = {
  InvalidOption: 'ERR_SEC_INVALID_OPTION',
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
  MemoryMode: 'ERR_SEC_MEMORY_MODE',
  ConnectFailed: 'ERR_SEC_REDIS_CONNECT_FAILED',
  Unavailable: 'ERR_SEC_REDIS_UNAVAILABLE',
  WriteRefused: 'ERR_SEC_REDIS_WRITE_REFUSED',
  PermissionDenied: 'ERR_SEC_REDIS_PERMISSION_DENIED',
  CircuitOpen: 'ERR_SEC_CIRCUIT_OPEN',
  Timeout: 'ERR_SEC_REDIS_TIMEOUT',
  ClientUnverified: 'ERR_SEC_REDIS_CLIENT_UNVERIFIED',
  CliUsage: 'ERR_SEC_CLI_USAGE',
  CliFileExists: 'ERR_SEC_CLI_FILE_EXISTS',
  CliCaRefused: 'ERR_SEC_CLI_CA_REFUSED',
  CliNoPackages: 'ERR_SEC_CLI_NO_PACKAGES',
  // assertRedisPosture() in production and staging, when the eviction rule refuses: the rule's own
  // finding code (PostureFindingCode), thrown.
  EvictionPolicy: 'ERR_SEC_REDIS_EVICTION_POLICY',
} as const;

export type RedisGuardErrorCode = (typeof RedisGuardErrorCode)[keyof typeof RedisGuardErrorCode];

/**
 * Every error code of every @sec package in the program. Each package adds its own codes by
 * declaration merging, so `SecError.code` is a union of string literals, not any string:
 * ```ts
 * declare module '@sec/redis-guard' {
 *   interface SecErrorCodes extends Record<MyErrorCode, true> {}
 * }
 * ```
 */
export interface SecErrorCodes extends Record<RedisGuardErrorCode, true> {}

/** A code of any @sec error in the program (see SecErrorCodes). */
export type SecErrorCode = keyof SecErrorCodes & string;

/**
 * What every SecError takes besides its code and message: the cause, and how an HTTP error handler
 * should answer when the error reaches one.
 */
export interface SecErrorOptions {
  readonly cause?: unknown;
  /** HTTP status for an error handler; default 500 (a bug or a configuration problem). */
  readonly status?: number;
  /** Headers for that answer, e.g. `Retry-After`; Express's own handler applies them. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Whether `message` may be shown to the client; default: the status is below 500. */
  readonly expose?: boolean;
}

/**
 * Base class of every error the @sec packages throw, option errors included. `code` is stable
 * across releases; match on it, not on the message. `status`, `statusCode`, `expose` and `headers`
 * follow the http-errors convention, so Express 4 and 5 answer an unhandled SecError with its status
 * (a 503 stays a 503, with its `Retry-After`) even without `secErrorHandler()`.
 * @example
 * try {
 *   validateRedisConfig(configFromEnv(process.env));
 * } catch (error) {
 *   if (error instanceof SecError) console.error(error.code);
 * }
 */
export class SecError extends Error {
  readonly code: SecErrorCode;
  /** 4xx: the caller's request or argument; 500: a bug or configuration; 503: Redis cannot answer now. */
  readonly status: number;
  /** Same as `status`, for handlers that read `statusCode`. */
  readonly statusCode: number;
  /** True when `message` is safe to send to the client. */
  readonly expose: boolean;
  /** Response headers that belong to the answer (`Retry-After` on a 503). */
  declare readonly headers?: Readonly<Record<string, string>>;

  constructor(code: SecErrorCode, message: string, options: SecErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.statusCode = this.status;
    this.expose = options.expose ?? this.status < 500;
    if (options.headers) this.headers = options.headers;
  }
}

/**
 * Insecure or malformed configuration found at start-up. Never thrown at request time.
 * @example
 * try {
 *   createRedisGuard();
 * } catch (error) {
 *   if (error instanceof ConfigurationError) console.error(`set ${error.variable}: ${error.message}`);
 * }
 */
export class ConfigurationError extends SecError {
  /** The environment variable or option to change. */
  readonly variable: string | undefined;

  constructor(code: SecErrorCode, message: string, variable?: string, options?: { cause?: unknown }) {
    // 500, not exposed: the message names deployment details a client has no business seeing.
    super(code, message, { ...options, status: 500 });
    this.variable = variable;
  }
}

/**
 * Redis cannot take this read or write now: the breaker is open, the client is not connected, a
 * command timed out, or the server refused it (`NOREPLICAS`, `OOM`, `MISCONF`, `NOPERM`, …).
 * Callers fail closed and may retry after `retryAfterSeconds`. HTTP status 503 with `Retry-After`.
 * @example
 * app.get('/visits', (_req, res, next) => {
 *   guard.execute((redis) => redis.incr('visits')).then(
 *     (visits) => res.json({ visits }),
 *     (error) => {
 *       if (!(error instanceof RedisUnavailableError)) return next(error);
 *       res.set('Retry-After', String(error.retryAfterSeconds)).status(503).end();
 *     },
 *   );
 * });
 */
export class RedisUnavailableError extends SecError {
  /** Whole seconds, at least 1. */
  readonly retryAfterSeconds: number;
  /** The guard's name, when a guard raised it; named in the 503 body. */
  readonly service: string | undefined;

  constructor(
    code: SecErrorCode,
    message: string,
    retryAfterSeconds: number,
    options: { readonly cause?: unknown; readonly service?: string } = {},
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    const { service, ...rest } = options;
    super(code, message, { ...rest, status: 503, headers: { 'Retry-After': String(seconds) } });
    this.retryAfterSeconds = seconds;
    this.service = service;
  }
}

/**
 * An option or argument is unknown, of the wrong type, out of range or missing: a mistake in the
 * calling code, thrown when the factory (or method) is called, never later. A SecError like every
 * @sec error (code `ERR_SEC_INVALID_OPTION`, status 500, not exposed), and deliberately not a
 * `TypeError`: one `instanceof SecError` catches everything the packages throw. The message names
 * the option and, for a typo, suggests the right one.
 * @example
 * try {
 *   createRedisGuard({ mode: 'Memory' as 'memory' });
 * } catch (error) {
 *   if (error instanceof OptionError) console.error(error.option, error.message); // mode: … did you mean 'memory'?
 * }
 */
export class OptionError extends SecError {
  /** The option (or argument) to fix. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(RedisGuardErrorCode.InvalidOption, message);
    this.option = option;
  }
}
