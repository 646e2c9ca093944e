import { SecError } from '@sec/redis-guard';
import type { HealthReport } from './check.js';

/**
 * Every code thrown by @sec/health, for exhaustive handling and the README table.
 * @example if (error.code === HealthErrorCode.StartupUnhealthy) process.exit(1);
 */
export const HealthErrorCode = {
  StartupUnhealthy: 'ERR_SEC_HEALTH_STARTUP_UNHEALTHY',
  PromClientMissing: 'ERR_SEC_HEALTH_PROM_CLIENT_MISSING',
} as const;

/**
 * Thrown by `assertStartupHealthy()` when a required dependency is down at boot, so the process
 * exits (and the orchestrator restarts it) instead of serving without shared session state.
 * @example
 * try { await assertStartupHealthy(health) } catch (e) {
 *   if (e instanceof StartupHealthError) console.error(e.failedRequired); process.exit(1);
 * }
 */
export class StartupHealthError extends SecError {
  readonly failedRequired: readonly string[];
  readonly report: HealthReport;

  constructor(report: HealthReport) {
    const details = report.services
      .filter((s) => s.required && !s.healthy)
      .map((s) => `${s.name}: ${s.message}`)
      .join('; ');
    super(
      HealthErrorCode.StartupUnhealthy,
      `Required services unavailable in ${report.environment}: ${report.failedRequired.join(', ')}. ${details}`,
    );
    this.failedRequired = report.failedRequired;
    this.report = report;
  }
}
