import type { Environment } from '@sec/redis-guard';
import { maskText } from '@sec/redis-guard/internal';
import type { CheckOutcome, HealthCheck, HealthReport, ServiceReport, ServiceStatus } from './check.js';

/** A check with its requirement and timeout settled at creation. */
export interface ResolvedCheck {
  readonly check: HealthCheck;
  readonly required: boolean;
  readonly timeoutMs: number;
}

class CheckTimeout extends Error {}

function withTimeout(run: (signal: AbortSignal) => Promise<CheckOutcome>, ms: number): Promise<CheckOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new CheckTimeout(`check timed out after ${ms} ms`));
    }, ms);
  });
  // Promise.resolve().then(): a check that throws synchronously must still become a failed result.
  const work = Promise.resolve().then(() => run(controller.signal));
  // The losing promise of the race must not surface later as an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}

function statusOf(healthy: boolean, required: boolean): ServiceStatus {
  if (healthy) return 'healthy';
  return required ? 'unhealthy' : 'degraded';
}

/** Runs one check within its timeout; never rejects. */
export async function runCheck(
  resolved: ResolvedCheck,
  environment: Environment,
  secrets: readonly string[],
): Promise<ServiceReport> {
  const { check, required, timeoutMs } = resolved;
  const started = performance.now();
  let outcome: CheckOutcome;
  let timedOut = false;
  try {
    outcome = await withTimeout((signal) => check.check({ environment, required, signal }), timeoutMs);
    if (typeof outcome?.healthy !== 'boolean') {
      outcome = { healthy: false, message: `check "${check.name}" did not resolve to { healthy: boolean }` };
    }
  } catch (error) {
    timedOut = error instanceof CheckTimeout;
    const reason = error instanceof Error ? error.message : String(error);
    outcome = { healthy: false, message: `${check.name} ${timedOut ? reason : `check failed: ${reason}`}` };
  }
  const latencyMs = Math.round((performance.now() - started) * 100) / 100;
  const message =
    outcome.message ?? (outcome.healthy ? `${check.name} is healthy` : `${check.name} is unhealthy`);
  return {
    name: check.name,
    status: statusOf(outcome.healthy, required),
    healthy: outcome.healthy,
    required,
    message: maskText(message, secrets),
    latencyMs,
    timedOut,
    componentType: check.componentType ?? 'component',
    details: maskDetails(outcome.details ?? {}, secrets),
    checkedAt: new Date().toISOString(),
  };
}

function maskDetails(
  details: Readonly<Record<string, unknown>>,
  secrets: readonly string[],
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(details).map(([key, value]) => [
      key,
      typeof value === 'string' ? maskText(value, secrets) : value,
    ]),
  );
}

/** Folds the service results into the overall verdict. */
export function summarize(
  services: readonly ServiceReport[],
  environment: Environment,
  version: string | undefined,
): HealthReport {
  const failedServices = services.filter((s) => !s.healthy).map((s) => s.name);
  const failedRequired = services.filter((s) => !s.healthy && s.required).map((s) => s.name);
  let status: ServiceStatus = 'healthy';
  if (failedRequired.length > 0) status = 'unhealthy';
  else if (failedServices.length > 0) status = 'degraded';
  return {
    status,
    healthy: failedServices.length === 0,
    ready: failedRequired.length === 0,
    environment,
    version,
    checkedAt: new Date().toISOString(),
    services,
    failedServices,
    failedRequired,
  };
}
