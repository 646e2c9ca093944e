import { SecError } from '@sec/redis-guard';
import type { HealthReport } from './check.js';

/**
 * Every code thrown by @sec/health (each is in the README's table), and the type of those codes.
 * @example
 * try {
 *   await assertStartupHealthy(health);
 * } catch (error) {
 *   if (error instanceof SecError && error.code === HealthErrorCode.StartupUnhealthy) process.exit(1);
 *   throw error;
 * }
 */
export const HealthErrorCode = {
  StartupUnhealthy: 'ERR_SEC_HEALTH_STARTUP_UNHEALTHY',
  PromClientMissing: 'ERR_SEC_HEALTH_PROM_CLIENT_MISSING',
  OtelApiMissing: 'ERR_SEC_HEALTH_OTEL_API_MISSING',
} as const;

export type HealthErrorCode = (typeof HealthErrorCode)[keyof typeof HealthErrorCode];

declare module '@sec/redis-guard' {
  interface SecErrorCodes extends Record<HealthErrorCode, true> {}
}

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
