import { assertStartupHealthy, createHealth, redisCheck } from '@sec/health';
import { createJsonLogger, createRedisGuard } from '@sec/redis-guard';
import type { DemoSettings } from './settings.js';

/**
 * Runs once in the primary before any worker is forked: an insecure Redis configuration throws
 * here (redis-guard's codes), and so do a Redis that is down in production and one whose
 * eviction policy would delete sessions (health's gate and its posture audit). Development
 * starts with warnings.
 */
export async function startupGate(settings: DemoSettings, env: NodeJS.ProcessEnv): Promise<void> {
  if (settings.store === 'memory') return;
  const logger = createJsonLogger({ name: 'cluster-demo', level: 'info' });
  const guard = createRedisGuard({ env, logger });
  try {
    // The Redis check's posture audit is enforced here too: production refuses an evicting Redis.
    const health = createHealth({
      checks: [redisCheck(guard, { posture: { env } })],
      environment: settings.environment,
      logger,
    });
    await assertStartupHealthy(health);
  } finally {
    await guard.close();
  }
}
