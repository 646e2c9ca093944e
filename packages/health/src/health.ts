import {
  createJsonLogger,
  detectEnvironment,
  type Environment,
  type Logger,
  OptionError,
  type RedisGuard,
} from '@sec/redis-guard';
import {
  checkOptions,
  isRedisGuard,
  maskingLogger,
  nonNegativeInteger,
  positiveInteger,
} from '@sec/redis-guard/internal';
import type { Router } from 'express';
import { DEFAULT_CHECK_TIMEOUT_MS, type HealthCheck, type HealthReport } from './check.js';
import { dependencyLogger } from './dependency-log.js';
import { requireRedisFromEnv } from './require-redis.js';
import { createHealthRouter } from './router.js';
import { type ResolvedCheck, runCheck, summarize } from './run-checks.js';

declare module '@sec/redis-guard' {
  interface SecEvents {
    /** A health check ran (reported through the check's guard, or the first guard). */
    'health.check': { readonly name: string; readonly healthy: boolean; readonly latencyMs: number };
  }
}

/**
 * Results are reused this long: every replica's kubelet, the load balancer and a dashboard probing
 * at once then cost Redis one PING a second, not one per probe.
 */
export const DEFAULT_CACHE_MS = 1_000;

const ENVIRONMENTS: readonly Environment[] = ['production', 'staging', 'development', 'test'];

/** @example createHealth({ checks: [redisCheck(guard)], version: process.env.APP_VERSION, cacheMs: 2000 }) */
export interface HealthOptions {
  readonly checks: readonly HealthCheck[];
  /** Default: the first check's guard's environment, else NODE_ENV / ENVIRONMENT / APP_ENV. */
  readonly environment?: Environment;
  /** How long a result is reused, in ms; 0 runs the checks on every request. Default 1000. */
  readonly cacheMs?: number;
  /** Per-check timeout unless the check sets its own. Default 1000 ms. */
  readonly timeoutMs?: number;
  /** Shown in `/detailed` and the health+json `version`. */
  readonly version?: string;
  /** Default: the first guard's logger. Secrets of every guard are masked whatever logger is used. */
  readonly logger?: Logger;
  /** Make Redis required in every environment; `REQUIRE_REDIS_SESSIONS=true` does the same. */
  readonly requireRedis?: boolean;
  /** Where REQUIRE_REDIS_SESSIONS and the environment variables are read; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs the checks and serves the endpoints.
 * @example app.use('/health', health.router()); const report = await health.check();
 */
export interface Health {
  readonly environment: Environment;
  readonly version: string | undefined;
  /** Guards the checks exercise (deduplicated). */
  readonly guards: readonly RedisGuard[];
  /** The registered checks, as given. */
  readonly checks: readonly HealthCheck[];
  readonly logger: Logger;
  /** Whether Redis checks are required in every environment (option or REQUIRE_REDIS_SESSIONS). */
  readonly requireRedis: boolean;
  /** Runs every check in parallel, or returns the cached result; `fresh` skips the cache. Never rejects. */
  check(options?: { readonly fresh?: boolean }): Promise<HealthReport>;
  /** `/live`, `/ready`, `/detailed`; mount with `app.use('/health', health.router())`. */
  router(): Router;
}

function validateChecks(checks: readonly HealthCheck[]): void {
  const names = new Set<string>();
  checks.forEach((check, index) => {
    const where = `createHealth() checks[${index}]`;
    checkOptions(where, check, {
      name: 'string',
      required: ['boolean', 'function'],
      timeoutMs: positiveInteger,
      componentType: 'string',
      guard: 'object',
      check: 'function',
      startup: 'function',
    });
    if (typeof check.check !== 'function')
      throw new OptionError('checks', `${where}: "check" must be an async function`);
    if (typeof check.name !== 'string' || check.name === '' || check.name.includes(':')) {
      throw new OptionError(
        'checks',
        `${where}: "name" must be a non-empty string without ":" (got ${String(check.name)})`,
      );
    }
    if (names.has(check.name))
      throw new OptionError('checks', `${where}: a check named "${check.name}" is already registered`);
    names.add(check.name);
    if (check.guard !== undefined && !isRedisGuard(check.guard)) {
      throw new OptionError('checks', `${where}: "guard" must come from createRedisGuard() or toGuard()`);
    }
  });
}

/**
 * Builds the health object. Options are validated and REQUIRE_REDIS_SESSIONS is read once, here.
 * @example
 * const guard = createRedisGuard();
 * const health = createHealth({ checks: [redisCheck(guard)], version: '1.4.2' });
 * app.use('/health', health.router());
 * await assertStartupHealthy(health);
 */
export function createHealth(options: HealthOptions): Health {
  checkOptions('createHealth', options, {
    checks: { kind: 'array', required: 'the dependencies to check, e.g. { checks: [redisCheck(guard)] }' },
    environment: 'string',
    cacheMs: nonNegativeInteger,
    timeoutMs: positiveInteger,
    version: 'string',
    logger: 'object',
    requireRedis: 'boolean',
    env: 'object',
  });
  if (options.environment !== undefined && !ENVIRONMENTS.includes(options.environment)) {
    throw new OptionError(
      'environment',
      `createHealth(): "environment" must be one of ${ENVIRONMENTS.join(', ')}`,
    );
  }
  validateChecks(options.checks);
  const env = options.env ?? process.env;
  const guards = [...new Set(options.checks.flatMap((c) => (c.guard ? [c.guard] : [])))];
  const environment = options.environment ?? guards[0]?.environment ?? detectEnvironment(env).name;
  const requireRedis = options.requireRedis === true || requireRedisFromEnv(env) === true;
  const defaultTimeout = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
  const secrets = () => guards.flatMap((g) => g.secrets());
  const logger = maskingLogger(
    options.logger ?? guards[0]?.logger ?? createJsonLogger({ name: 'health' }),
    secrets,
  );
  const logChanges = dependencyLogger(logger, environment);
  const resolved: ResolvedCheck[] = options.checks.map((check) => ({
    check,
    required:
      typeof check.required === 'function'
        ? check.required({ environment, requireRedis })
        : (check.required ?? true),
    timeoutMs: check.timeoutMs ?? defaultTimeout,
  }));

  let cached: { report: HealthReport; at: number } | undefined;
  let inflight: Promise<HealthReport> | undefined;

  const run = async (): Promise<HealthReport> => {
    const masks = secrets();
    const services = await Promise.all(resolved.map((r) => runCheck(r, environment, masks)));
    for (const [index, service] of services.entries()) {
      // Metrics subscribe to the guards; a check without its own guard reports through the first one.
      const target = resolved[index]?.check.guard ?? guards[0];
      target?.report({
        type: 'health.check',
        name: service.name,
        healthy: service.healthy,
        latencyMs: service.latencyMs,
      });
    }
    logChanges(services);
    const report = summarize(services, environment, options.version);
    cached = { report, at: Date.now() };
    return report;
  };

  const health: Health = {
    environment,
    version: options.version,
    guards,
    checks: [...options.checks],
    logger,
    requireRedis,
    check({ fresh = false } = {}) {
      if (!fresh && cached && Date.now() - cached.at < cacheMs) return Promise.resolve(cached.report);
      // Concurrent callers share one run: a probe storm costs one PING, not one per request.
      inflight ??= run().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    router() {
      return createHealthRouter(health);
    },
  };
  return health;
}
