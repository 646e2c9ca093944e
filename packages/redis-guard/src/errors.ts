/**
 * What every SecError takes besides its code and message: the cause, and how an HTTP error handler
 * should answer when the error reaches one.
 * @example throw new SecError('ERR_SEC_X', 'bad input', { status: 400 });
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
 * Base class of every error the @sec packages throw. `code` is stable across releases; match on it,
 * not on the message. `status`, `statusCode`, `expose` and `headers` follow the http-errors
 * convention, so Express 4 and 5 answer an unhandled SecError with its status (a 503 stays a 503,
 * with its `Retry-After`) even without `secErrorHandler()`.
 * @example
 * try { validateRedisConfig(config) } catch (e) { if (e instanceof SecError) console.error(e.code) }
 */
export class SecError extends Error {
  readonly code: string;
  /** 4xx: the caller's request or argument; 500: a bug or configuration; 503: Redis cannot answer now. */
  readonly status: number;
  /** Same as `status`, for handlers that read `statusCode`. */
  readonly statusCode: number;
  /** True when `message` is safe to send to the client. */
  readonly expose: boolean;
  /** Response headers that belong to the answer (`Retry-After` on a 503). */
  declare readonly headers?: Readonly<Record<string, string>>;

  constructor(code: string, message: string, options: SecErrorOptions = {}) {
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
 * @example if (error instanceof ConfigurationError && error.code === 'ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION') ...
 */
export class ConfigurationError extends SecError {
  /** The environment variable or option to change. */
  readonly variable: string | undefined;

  constructor(code: string, message: string, variable?: string, options?: { cause?: unknown }) {
    // 500, not exposed: the message names deployment details a client has no business seeing.
    super(code, message, { ...options, status: 500 });
    this.variable = variable;
  }
}

/**
 * Redis cannot take this read or write now: the breaker is open, the client is not connected, a
 * command timed out, or the server refused it (`NOREPLICAS`, `OOM`, `MISCONF`, `NOPERM`, …).
 * Callers fail closed and may retry after `retryAfterSeconds`. HTTP status 503 with `Retry-After`.
 * @example if (error instanceof RedisUnavailableError) res.set('Retry-After', String(error.retryAfterSeconds))
 */
export class RedisUnavailableError extends SecError {
  /** Whole seconds, at least 1. */
  readonly retryAfterSeconds: number;
  /** The guard's name, when a guard raised it; named in the 503 body. */
  readonly service: string | undefined;

  constructor(
    code: string,
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
 * A factory was called with an unknown option key or a value of the wrong type. A `TypeError`, as
 * helmet and jose throw, with the stable `code` every @sec error has.
 * @example rateLimit({ pionts: 5 }) // OptionError: rateLimit(): unknown option "pionts" — did you mean "points"?
 */
export class OptionError extends TypeError {
  readonly code = 'ERR_SEC_INVALID_OPTION';
  readonly option: string;
  /** A programming or configuration mistake in the app: 500, message not for the client. */
  readonly status = 500;
  readonly statusCode = 500;
  readonly expose = false;

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
  WriteRefused: 'ERR_SEC_REDIS_WRITE_REFUSED',
  PermissionDenied: 'ERR_SEC_REDIS_PERMISSION_DENIED',
  CircuitOpen: 'ERR_SEC_CIRCUIT_OPEN',
  Timeout: 'ERR_SEC_REDIS_TIMEOUT',
  ClientUnverified: 'ERR_SEC_REDIS_CLIENT_UNVERIFIED',
  CliUsage: 'ERR_SEC_CLI_USAGE',
  CliFileExists: 'ERR_SEC_CLI_FILE_EXISTS',
  CliCaRefused: 'ERR_SEC_CLI_CA_REFUSED',
  CliNoPackages: 'ERR_SEC_CLI_NO_PACKAGES',
  // Posture rules: each finding carries its rule's code; only EvictionPolicy is thrown (production
  // and staging start-up), the others are warnings.
  EvictionPolicy: 'ERR_SEC_REDIS_EVICTION_POLICY',
  Persistence: 'ERR_SEC_REDIS_PERSISTENCE',
  DangerousCommands: 'ERR_SEC_REDIS_DANGEROUS_COMMANDS',
  AsyncReplication: 'ERR_SEC_REDIS_ASYNC_REPLICATION',
  TlsProtocols: 'ERR_SEC_REDIS_TLS_PROTOCOLS',
  ProtectedMode: 'ERR_SEC_REDIS_PROTECTED_MODE',
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
