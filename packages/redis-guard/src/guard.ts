import { CircuitBreaker, type CircuitBreakerOptions } from './breaker.js';
import {
  createRedisClient,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type RedisClient,
} from './client.js';
import { adoptClient } from './client-check.js';
import { configFromEnv, type RedisConnectionConfig } from './config.js';
import { detectEnvironment, ENVIRONMENTS, type Environment } from './environment.js';
import { RedisGuardErrorCode as Code, RedisUnavailableError, SecError } from './errors.js';
import { describeGuard } from './guard-summary.js';
import { DEFAULT_KEY_PREFIX, keyPrefixOption } from './key-prefix.js';
import { createJsonLogger, type Logger, maskingLogger } from './logger.js';
import { maskText, scrubError } from './mask.js';
import { GUARD_MODES, type GuardMode, resolveMode, warnMemoryMode } from './mode.js';
import type { AuditHint, SecEvent, SecObserver } from './observer.js';
import { checkOptions, oneOf, positiveInteger } from './options.js';
import {
  classifyRedisError,
  DEFAULT_RETRY_AFTER_SECONDS,
  decisiveReply,
  isTimeoutError,
  timeout,
  unavailable,
} from './outage.js';
import { PermissionLog } from './permission-log.js';
import { StuckLinkMonitor } from './stuck-link.js';
import { recordSpan } from './telemetry.js';

export type { GuardMode } from './mode.js';

export interface RedisGuardOptions {
  /**
   * Bring your own ioredis client (standalone, Sentinel or Cluster). Its options are checked
   * against the environment's rules (TLS, verification, password, localhost) at creation; its
   * password is masked like a configured one.
   */
  readonly client?: RedisClient;
  /** Or a connection config; default: read from `env`. */
  readonly config?: RedisConnectionConfig;
  readonly env?: NodeJS.ProcessEnv;
  readonly environment?: Environment;
  /**
   * 'auto' (default): Redis when one is configured; otherwise memory mode in development and test,
   * and a start-up error in production and staging. 'memory' is refused in production and staging.
   */
  readonly mode?: 'auto' | GuardMode;
  /**
   * Answer 503 instead of proceeding while a configured Redis is down; default true in every
   * environment (memory mode is for "no Redis configured", never a fallback). `false` lets
   * `requireRedis` pass requests through and rate limits count per process.
   */
  readonly failClosed?: boolean;
  readonly breaker?: Omit<CircuitBreakerOptions, 'probe' | 'logger' | 'name'>;
  /** Upper bound for one `execute()`; default 1000 ms. */
  readonly commandTimeoutMs?: number;
  readonly logger?: Logger;
  readonly name?: string;
  /**
   * Prefix of every Redis key and channel the @sec packages use on this guard (sessions,
   * rate-limit counters, cache entries); default 'sec:'. Give each application sharing one Redis
   * its own, e.g. 'sec:shop:'.
   */
  readonly keyPrefix?: string;
}

/**
 * The one object every @sec package asks "may I use Redis now?". It owns the client, the circuit
 * breaker and the environment's fail-closed policy.
 * @example
 * const guard: RedisGuard = createRedisGuard();
 * if (!guard.isAvailable()) console.warn(`Redis is down; retry in ${guard.retryAfterSeconds()} s`);
 */
export interface RedisGuard {
  readonly name: string;
  /** Prefix of every key and channel the @sec packages use on this guard. */
  readonly keyPrefix: string;
  readonly environment: Environment;
  readonly mode: GuardMode;
  /** True in memory mode: nothing is shared between processes. */
  readonly isMock: boolean;
  readonly failClosed: boolean;
  /** Undefined in memory mode. */
  readonly client: RedisClient | undefined;
  readonly breaker: CircuitBreaker;
  readonly logger: Logger;
  /**
   * Secrets the guard knows of; packages mask them in anything they log. A method, so that
   * `JSON.stringify`, `util.inspect` and loggers' serialisers never read it.
   */
  secrets(): readonly string[];
  /** Redis is connected and the breaker lets calls through (always true in memory mode). */
  isAvailable(): boolean;
  /**
   * Runs Redis work through the breaker with a bounded wait. Rejects with RedisUnavailableError
   * (503) when Redis cannot answer or refuses the call (`NOREPLICAS`, `OOM`, `MISCONF`, `NOPERM`:
   * see classifyRedisError); a bug in the call (`WRONGTYPE`) is rethrown as it is, secrets removed.
   * `timeoutMs` lengthens the deadline for a call that blocks on purpose (`WAIT`); default
   * `commandTimeoutMs`.
   */
  execute<T>(
    operation: (client: RedisClient) => Promise<T>,
    options?: { readonly timeoutMs?: number },
  ): Promise<T>;
  retryAfterSeconds(): number;
  /** Waits for the connection, for the breaker to let calls through, and a PING; rejects with ERR_SEC_REDIS_CONNECT_FAILED. */
  ready(timeoutMs?: number): Promise<void>;
  /** PING round trip in milliseconds, through the breaker. */
  ping(): Promise<number>;
  /** Subscribes to the events reported through this guard (see SecEvents); returns the unsubscribe. */
  observe(observer: SecObserver): () => void;
  /** Hands an event to every observer; with `audit`, it also belongs in the audit trail. */
  report(event: SecEvent, audit?: AuditHint): void;
  /** Logs a warning the first time `key` is seen on this guard. */
  warnOnce(key: string, message: string, context?: object): void;
  close(): Promise<void>;
}

// Every guard createRedisGuard() made. The package is loaded once per process (the require() entry
// loads the ES module build), so this set sees the guards of import and require() callers alike.
const guards = new WeakSet<object>();

/** True for a guard made by createRedisGuard(). */
export function isRedisGuard(value: unknown): value is RedisGuard {
  return typeof value === 'object' && value !== null && guards.has(value);
}

/**
 * Creates the guard: validates the configuration for the environment (throwing at start-up, never
 * at request time), builds the client and wires the breaker to it.
 * @example
 * const guard = createRedisGuard();            // from process.env
 * app.use(requireRedis(guard));
 * await guard.ready();
 */
export function createRedisGuard(options: RedisGuardOptions = {}): RedisGuard {
  checkOptions('createRedisGuard', options, {
    client: 'object',
    config: 'object',
    env: 'object',
    environment: oneOf(ENVIRONMENTS),
    mode: oneOf(GUARD_MODES),
    failClosed: 'boolean',
    breaker: 'object',
    commandTimeoutMs: positiveInteger,
    logger: 'object',
    name: 'string',
    keyPrefix: keyPrefixOption,
  });
  const env = options.env ?? process.env;
  const detected = detectEnvironment(env);
  const environment = options.environment ?? detected.name;
  const config = options.client ? undefined : (options.config ?? configFromEnv(env));
  const mode = resolveMode(options.mode ?? 'auto', options.client !== undefined, environment, config);
  const name = options.name ?? 'redis';
  let secrets: readonly string[] = [];
  const baseLogger = options.logger ?? createJsonLogger({ name: 'redis-guard' });
  const logger = maskingLogger(baseLogger, () => secrets);

  let client: RedisClient | undefined;
  if (mode === 'redis') {
    if (options.client) {
      client = options.client;
      secrets = adoptClient(client, environment, env, logger);
    } else {
      const secure = createRedisClient(config!, { environment, env, logger: baseLogger });
      client = secure.client;
      secrets = secure.secrets;
    }
  } else {
    if (detected.warning && !options.environment)
      logger.warn({ event: 'environment.warning' }, detected.warning);
    warnMemoryMode(logger, environment);
  }
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const observers = new Set<SecObserver>();
  const warned = new Set<string>();
  const report = (event: SecEvent, audit?: AuditHint) => {
    for (const observer of observers) {
      try {
        observer(event, audit);
      } catch (error) {
        logger.error({ event: 'observer.error', err: scrubError(error, secrets) }, 'an observer threw');
      }
    }
  };
  let stuck: StuckLinkMonitor | undefined;
  const breaker = new CircuitBreaker({
    ...options.breaker,
    name,
    logger,
    // Bounded, and a probe that times out on a 'ready' link tears that link down: otherwise a
    // frozen primary would keep the breaker open for as long as it stays frozen.
    probe: async () => {
      if (client?.status !== 'ready') throw new Error('not connected');
      try {
        await timeout(client.ping(), commandTimeoutMs);
      } catch (error) {
        if (isTimeoutError(error)) stuck?.probeTimedOut();
        throw error;
      }
    },
  });
  if (client) stuck = new StuckLinkMonitor(client, breaker.failureThreshold, commandTimeoutMs, logger, name);
  const permissions = new PermissionLog(logger, name);
  breaker.on('transition', ({ from, to }) => {
    recordSpan('@sec/redis-guard', 'sec.breaker.transition', {
      'sec.breaker.name': name,
      'sec.breaker.from': from,
      'sec.breaker.to': to,
    });
    report({ type: 'breaker.transition', name, from, to }, {});
  });
  client?.on('ready', () => breaker.probeNow());

  const guard: RedisGuard = {
    name,
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
    environment,
    mode,
    isMock: mode === 'memory',
    failClosed: options.failClosed ?? true,
    client,
    breaker,
    logger,
    secrets: () => secrets,
    isAvailable() {
      if (!client) return true;
      return client.status === 'ready' && breaker.allowsRequests();
    },
    retryAfterSeconds() {
      return breaker.state === 'open' ? breaker.retryAfterSeconds() : DEFAULT_RETRY_AFTER_SECONDS;
    },
    async execute<T>(
      operation: (c: RedisClient) => Promise<T>,
      callOptions?: { readonly timeoutMs?: number },
    ): Promise<T> {
      if (!client) {
        throw new SecError(
          Code.MemoryMode,
          `guard "${name}" is in memory mode (no Redis is configured): execute() has no client to run on. ` +
            'Check guard.mode first, or configure Redis.',
        );
      }
      if (!breaker.allowsRequests()) {
        throw unavailable(
          Code.CircuitOpen,
          `Redis circuit breaker is open (${breaker.snapshot().lastError ?? 'failures'})`,
          breaker.retryAfterSeconds(),
          undefined,
          name,
        );
      }
      if (client.status !== 'ready') {
        breaker.recordFailure(`client ${client.status}`);
        throw unavailable(
          Code.Unavailable,
          `Redis is not connected (${client.status})`,
          guard.retryAfterSeconds(),
          undefined,
          name,
        );
      }
      try {
        // ioredis's commandTimeout alone does not bound a call: an auto-pipelined command waits,
        // unbounded, for the pipeline before it (which may itself take a whole commandTimeout to
        // fail), and an operation may send several commands. So every call gets its own deadline.
        const result = await timeout(operation(client), callOptions?.timeoutMs ?? commandTimeoutMs);
        breaker.recordSuccess();
        stuck?.answered();
        return result;
      } catch (error) {
        const safe = scrubError(error, secrets);
        const kind = classifyRedisError(error);
        if (kind === 'caller') throw safe;
        const retryAfter = guard.retryAfterSeconds();
        // A refusal is an answer: the link is alive, and the breaker is left alone (see RedisErrorKind).
        if (kind === 'write-refused') {
          stuck?.answered();
          throw unavailable(
            Code.WriteRefused,
            `Redis refused the write: ${maskText(decisiveReply(error as Error), secrets)}`,
            retryAfter,
            safe,
            name,
          );
        }
        if (kind === 'permission') {
          stuck?.answered();
          permissions.record(error, safe);
          throw unavailable(
            Code.PermissionDenied,
            `Redis ACL denied the call: ${safe.message}`,
            retryAfter,
            safe,
            name,
          );
        }
        breaker.recordFailure(safe.message);
        if (isTimeoutError(error)) stuck?.timedOut();
        if (error instanceof RedisUnavailableError) throw error;
        // ioredis's own commandTimeout fired: keep the stable timeout code.
        const code = isTimeoutError(error) ? Code.Timeout : Code.Unavailable;
        throw unavailable(code, `Redis call failed: ${safe.message}`, guard.retryAfterSeconds(), safe, name);
      }
    },
    async ready(timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS) {
      if (!client) return;
      const deadline = Date.now() + timeoutMs;
      let lastError: RedisUnavailableError | undefined;
      for (;;) {
        // Connected is not enough after an outage: the breaker stays open until its probe succeeds.
        if (client.status === 'ready' && breaker.allowsRequests()) {
          try {
            await guard.ping();
            return;
          } catch (error) {
            // One slow or refused PING (a busy host, a server still loading) is not the verdict:
            // the caller gave the whole deadline.
            if (!(error instanceof RedisUnavailableError)) throw error;
            lastError = error;
          }
        }
        if (Date.now() > deadline || client.status === 'end') {
          const state =
            lastError?.message ??
            (client.status === 'ready' ? 'circuit breaker open' : `status ${client.status}`);
          throw new SecError(
            Code.ConnectFailed,
            `Redis did not become ready within ${timeoutMs} ms (${state}). Check REDIS_URL (or REDIS_CLUSTER_NODES / REDIS_SENTINELS), the password and TLS settings; run \`sec-redis check\`.`,
            lastError === undefined ? undefined : { cause: lastError },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async ping() {
      const started = performance.now();
      await guard.execute((c) => c.ping());
      return performance.now() - started;
    },
    observe(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
    report,
    warnOnce(key, message, context = {}) {
      if (warned.has(key)) return;
      warned.add(key);
      logger.warn({ event: key, environment, ...context }, message);
    },
    async close() {
      breaker.dispose();
      if (!client || client.status === 'end') return;
      await timeout(client.quit(), commandTimeoutMs).catch(() => client?.disconnect());
    },
  };
  describeGuard(guard);
  guards.add(guard);
  return guard;
}

/**
 * What each package accepts as `redis`: a guard, a bare ioredis client (wrapped in a guard), or
 * nothing (a guard built from `process.env`).
 */
export function toGuard(
  redis: RedisGuard | RedisClient | undefined,
  options: RedisGuardOptions = {},
): RedisGuard {
  if (isRedisGuard(redis)) return redis;
  return createRedisGuard(redis ? { ...options, client: redis } : options);
}
