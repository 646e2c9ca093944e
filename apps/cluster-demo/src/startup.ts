import { assertStartupHealthy, createHealth, redisCheck } from '@sec/health';
import { createJsonLogger, createRedisGuard } from '@sec/redis-guard';
import type { DemoSettings } from './settings.js';

/**
 * Runs once in the primary before any worker is forked: an insecure Redis configuration throws
 * here (redis-guard's codes), and so does a Redis that is down in production (health's gate).
 * Development with Redis down starts with a warning.
 */
export async function startupGate(settings: DemoSettings, env: NodeJS.ProcessEnv): Promise<void> {
  if (settings.store === 'memory') return;
  const logger = createJsonLogger({ name: 'cluster-demo', level: 'info' });
  const guard = createRedisGuard({ env, logger });
  try {
    const health = createHealth({ checks: [redisCheck(guard)], environment: settings.environment, logger });
    await assertStartupHealthy(health);
  } finally {
    await guard.close();
  }
}
