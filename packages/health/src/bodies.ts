import type { HealthReport, ServiceReport, ServiceStatus } from './check.js';

/**
 * Media type of draft-inadarei-api-health-check ("Health Check Response Format for HTTP APIs").
 */
export const HEALTH_JSON_TYPE = 'application/health+json';

type DraftStatus = 'pass' | 'warn' | 'fail';

const DRAFT_STATUS: Readonly<Record<ServiceStatus, DraftStatus>> = {
  healthy: 'pass',
  degraded: 'warn',
  unhealthy: 'fail',
};

/** Readiness fails only when a required service failed; optional ones degrade but stay ready. */
export function statusCode(report: HealthReport): 200 | 503 {
  return report.ready ? 200 : 503;
}

function summary(service: ServiceReport) {
  return { name: service.name, status: service.status, message: service.message, required: service.required };
}

/**
 * `GET /ready`: the shape operators already alert on (`status`, `healthy`, `services`, and on
 * failure `failed_services` / `failed_required`).
 */
export function readyBody(report: HealthReport): object {
  if (report.ready) {
    return { status: 'ready', healthy: report.healthy, services: report.services.map(summary) };
  }
  return {
    status: 'not ready',
    healthy: false,
    failed_services: report.failedServices,
    failed_required: report.failedRequired,
    services: report.services.map(summary),
  };
}

/** `GET /detailed`: everything a dashboard needs, per service. */
export function detailedBody(report: HealthReport): object {
  return {
    status: report.status,
    healthy: report.healthy,
    ready: report.ready,
    environment: report.environment,
    version: report.version ?? null,
    checked_at: report.checkedAt,
    services: report.services.map((service) => {
      const core = {
        name: service.name,
        status: service.status,
        healthy: service.healthy,
        required: service.required,
        message: service.message,
        latency_ms: service.latencyMs,
        timed_out: service.timedOut,
        checked_at: service.checkedAt,
      };
      // Spread twice: the verdict's keys come first and a check's extra fields can never overwrite them.
      return { ...core, ...service.details, ...core };
    }),
  };
}

/**
 * The draft's format: `status` pass/warn/fail (fail only with a 5xx, as the draft demands), and
 * `checks` keyed `{component}:responseTime` whose `observedValue` is the check's latency in ms.
 */
export function healthJsonBody(report: HealthReport): object {
  const status: DraftStatus = report.ready ? (report.healthy ? 'pass' : 'warn') : 'fail';
  const failed = report.services.filter((s) => !s.healthy);
  const checks: Record<string, object[]> = {};
  for (const service of report.services) {
    const draftStatus = DRAFT_STATUS[service.status];
    const component = {
      componentType: service.componentType,
      observedValue: service.latencyMs,
      observedUnit: 'ms',
      status: draftStatus,
      time: service.checkedAt,
      required: service.required,
      // The draft: output SHOULD be omitted for "pass".
      ...(draftStatus !== 'pass' && { output: service.message }),
    };
    // The draft allows extra keys in a component object; the standard ones stay first and win.
    checks[`${service.name}:responseTime`] = [{ ...component, ...service.details, ...component }];
  }
  return {
    status,
    ...(report.version !== undefined && { version: report.version }),
    notes: [`environment: ${report.environment}`],
    ...(failed.length > 0 && { output: failed.map((s) => `${s.name}: ${s.message}`).join('; ') }),
    checks,
  };
}
