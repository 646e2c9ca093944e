import { checkOptions, nonNegativeInteger, positiveInteger } from '@sec/redis-guard/internal';
import type { HealthReport } from './check.js';
import { StartupHealthError } from './errors.js';
import type { Health } from './health.js';

/**
 * How long the gate lets a dependency come up (Redis often starts alongside the app).
 */
export const DEFAULT_STARTUP_WAIT_MS = 5_000;
/**
 * Pause between attempts while a required dependency is still down.
 */
export const DEFAULT_STARTUP_RETRY_MS = 250;

/** @example await assertStartupHealthy(health, { waitMs: 30_000, retryMs: 1_000 }); */
export interface StartupOptions {
  /** Keep trying this long before giving up; 0 checks once. Default 5000 ms. */
  readonly waitMs?: number;
  /** Pause between attempts. Default 250 ms. */
  readonly retryMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Each check's `startup` hook, for the services that answered (one that is down in development
 * has nothing to judge). A hook that throws blocks start-up like a required service that is down.
 */
async function runStartupHooks(health: Health, report: HealthReport): Promise<void> {
  for (const check of health.checks) {
    const service = report.services.find((s) => s.name === check.name);
    if (!check.startup || !service?.healthy) continue;
    try {
      await check.startup({
        environment: report.environment,
        required: service.required,
        logger: health.logger,
      });
    } catch (error) {
      health.logger.error(
        {
          event: 'service.startup.blocked',
          environment: report.environment,
          dependency: check.name,
          code: (error as { code?: unknown }).code,
        },
        `Start-up refused by the ${check.name} check: ${(error as Error).message}`,
      );
      throw error;
    }
  }
}

/**
 * The boot-time gate. When a required service is down (Redis in production and staging, or
 * anywhere with REQUIRE_REDIS_SESSIONS=true) it throws a StartupHealthError listing the failed
 * required services, so the process exits instead of serving requests whose revocations would
 * not be shared. When only optional services are down (development) it logs a warning and
 * returns the report. Then each check's `startup` hook runs: `redisCheck()` audits the Redis
 * server's posture there, so production also refuses an eviction policy that would delete
 * sessions (a ConfigurationError with ERR_SEC_REDIS_EVICTION_POLICY), and logs the other findings.
 * @example
 * const health = createHealth({ checks: [redisCheck(guard)] });
 * await assertStartupHealthy(health, { waitMs: 10_000 }); // throws in production if Redis stays down
 * app.listen(3000);
 */
export async function assertStartupHealthy(
  health: Health,
  options: StartupOptions = {},
): Promise<HealthReport> {
  checkOptions('assertStartupHealthy', options, { waitMs: nonNegativeInteger, retryMs: positiveInteger });
  const waitMs = options.waitMs ?? DEFAULT_STARTUP_WAIT_MS;
  const retryMs = options.retryMs ?? DEFAULT_STARTUP_RETRY_MS;
  const deadline = Date.now() + waitMs;
  // A client created a moment ago is still connecting. Waiting for it, rather than retrying the
  // checks, keeps the boot from recording breaker failures against a Redis that is merely slow to answer.
  if (waitMs > 0) await Promise.all(health.guards.map((guard) => guard.ready(waitMs).catch(() => undefined)));
  let report = await health.check({ fresh: true });
  while (!report.ready && Date.now() + retryMs <= deadline) {
    await sleep(retryMs);
    report = await health.check({ fresh: true });
  }
  const context = { environment: report.environment, failed_services: report.failedServices };
  if (!report.ready) {
    const error = new StartupHealthError(report);
    health.logger.error(
      { event: 'service.startup.blocked', ...context, failed_required: report.failedRequired },
      error.message,
    );
    throw error;
  }
  await runStartupHooks(health, report);
  if (!report.healthy) {
    const messages = report.services.filter((s) => !s.healthy).map((s) => `${s.name}: ${s.message}`);
    health.logger.warn(
      { event: 'service.startup.degraded', ...context },
      `Starting with unavailable optional services (${report.environment}): ${messages.join('; ')}`,
    );
  }
  return report;
}
