import type { Environment, Logger } from '@sec/redis-guard';
import type { ServiceReport, ServiceStatus } from './check.js';

/**
 * Logs `service.dependency.check` when a dependency's status changes, not on every probe: with
 * readiness probed every few seconds by every replica, per-probe lines would bury the one line
 * that matters ("redis went unhealthy at 03:12").
 */
export function dependencyLogger(
  logger: Logger,
  environment: Environment,
): (services: readonly ServiceReport[]) => void {
  const last = new Map<string, ServiceStatus>();
  return (services) => {
    for (const service of services) {
      if (last.get(service.name) === service.status) continue;
      last.set(service.name, service.status);
      const record = {
        event: 'service.dependency.check',
        dependency: service.name,
        status: service.status,
        healthy: service.healthy,
        required: service.required,
        message: service.message,
        environment,
      };
      const text = `${service.name} is ${service.status}`;
      if (service.status === 'healthy') logger.info(record, text);
      else if (service.status === 'degraded') logger.warn(record, text);
      else logger.error(record, text);
    }
  };
}
