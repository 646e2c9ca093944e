import type { Environment, Logger, RedisGuard } from '@sec/redis-guard';

/**
 * Each check gets this long before it is reported failed, so no endpoint waits on a stuck dependency.
 */
export const DEFAULT_CHECK_TIMEOUT_MS = 1_000;

/**
 * `healthy`: the dependency answers. `degraded`: it does not, but it is optional here (development
 * without Redis). `unhealthy`: a required dependency does not answer; readiness fails.
 * @example
 * const report = await health.check();
 * const degraded = report.services.filter((service) => service.status === ('degraded' satisfies ServiceStatus));
 */
export type ServiceStatus = 'healthy' | 'degraded' | 'unhealthy';

/**
 * What a `required` function is asked, once, when the health object is created.
 * @example const required = ({ environment }: RequirementContext) => environment === 'production';
 */
export interface RequirementContext {
  readonly environment: Environment;
  /** `REQUIRE_REDIS_SESSIONS=true` or the `requireRedis` option. */
  readonly requireRedis: boolean;
}

/**
 * Passed to every run of a check.
 * @example
 * const check = async ({ signal }: CheckContext) => ({
 *   healthy: (await fetch('https://payments.example.com/status', { signal })).ok,
 * });
 */
export interface CheckContext {
  readonly environment: Environment;
  /** Whether a failure of this check fails readiness; lets a check word its message accordingly. */
  readonly required: boolean;
  /** Aborted when the check's time is up; pass it to anything cancellable. */
  readonly signal: AbortSignal;
}

/**
 * Passed to a check's `startup` hook, once, by `assertStartupHealthy()`.
 * @example
 * const migrations: HealthCheck = {
 *   name: 'migrations',
 *   check: async () => ({ healthy: true }),
 *   startup: async ({ environment, logger }: StartupContext) => {
 *     if (environment === 'production') logger.info({ event: 'app.migrations' }, 'schema checked');
 *   },
 * };
 */
export interface StartupContext {
  readonly environment: Environment;
  readonly required: boolean;
  /** The health object's logger, secrets masked. */
  readonly logger: Logger;
}

/**
 * What a check resolves to. Throwing counts as `{ healthy: false, message: error.message }`.
 * @example const outcome: CheckOutcome = { healthy: true, message: 'queue depth 12', details: { depth: 12 } };
 */
export interface CheckOutcome {
  readonly healthy: boolean;
  /** Shown in the endpoints and logs after secrets and URL passwords are masked. */
  readonly message?: string;
  /** Extra fields for `/detailed` and the health+json component object, e.g. `{ circuit_state: 'closed' }`. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * One dependency to check. `redisCheck()` builds one for a guard; anything else is a plain object.
 * @example
 * const payments: HealthCheck = {
 *   name: 'payments',
 *   componentType: 'component',
 *   required: false,
 *   check: async ({ signal }) => {
 *     const response = await fetch('https://payments.example.com/status', { signal });
 *     return { healthy: response.ok, message: `payments answered ${response.status}` };
 *   },
 * };
 */
export interface HealthCheck {
  /** Unique; no colon (it is the component half of the health+json key `name:responseTime`). */
  readonly name: string;
  /** Default true: a dependency you register is assumed necessary unless you say otherwise. */
  readonly required?: boolean | ((context: RequirementContext) => boolean);
  /** Default: the health object's `timeoutMs` (1000 ms). */
  readonly timeoutMs?: number;
  /** health+json `componentType`: 'datastore', 'component' (default) or 'system'. */
  readonly componentType?: string;
  /** The guard this check exercises: its secrets are masked and it receives the `health.check` events. */
  readonly guard?: RedisGuard;
  check(context: CheckContext): Promise<CheckOutcome>;
  /**
   * Runs once in `assertStartupHealthy()`, after this check passed: the place to refuse a
   * dependency that answers but is unsafe to run on. Throw to stop start-up (the gate rethrows);
   * log to warn. `redisCheck()` audits the Redis server's posture here.
   */
  startup?(context: StartupContext): Promise<void>;
}

/**
 * One check's result as the endpoints show it.
 * @example
 * const report = await health.check();
 * const redis: ServiceReport | undefined = report.services.find((service) => service.name === 'redis');
 */
export interface ServiceReport {
  readonly name: string;
  readonly status: ServiceStatus;
  readonly healthy: boolean;
  readonly required: boolean;
  /** Already masked. */
  readonly message: string;
  readonly latencyMs: number;
  readonly timedOut: boolean;
  readonly componentType: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** ISO 8601. */
  readonly checkedAt: string;
}

/**
 * The result of one run of every check.
 * @example
 * const report: HealthReport = await health.check();
 * if (!report.ready) console.error(`not ready: ${report.failedRequired.join(', ')}`);
 */
export interface HealthReport {
  /** `unhealthy` when a required service failed, `degraded` when only optional ones did. */
  readonly status: ServiceStatus;
  /** Every service is healthy. */
  readonly healthy: boolean;
  /** No required service failed: readiness answers 200. */
  readonly ready: boolean;
  readonly environment: Environment;
  readonly version: string | undefined;
  readonly checkedAt: string;
  readonly services: readonly ServiceReport[];
  readonly failedServices: readonly string[];
  readonly failedRequired: readonly string[];
}
