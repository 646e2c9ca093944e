// The set-up the single-process bench scripts share: a throw-away redis-server, a guard on it as an
// app would hold one, and a raw client for INFO and CONFIG RESETSTAT.
import { createRedisGuard } from '@sec/redis-guard';
import { Redis } from 'ioredis';
import { startRedisServer } from './redis-server.mjs';
import { silentLogger } from './servers/serve.mjs';

/** @returns {Promise<{ server: Awaited<ReturnType<typeof startRedisServer>>, guard: import('@sec/redis-guard').RedisGuard, raw: Redis }>} */
export async function startGuardedRedis() {
  const server = await startRedisServer();
  const guard = createRedisGuard({
    config: { url: server.url, password: server.password },
    environment: 'test',
    logger: silentLogger,
  });
  const raw = new Redis({ port: server.port, password: server.password });
  return { server, guard, raw };
}
