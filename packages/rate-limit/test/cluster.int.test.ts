import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisClusterHandle, startCluster } from '@sec/testing';
import { Cluster, Redis } from 'ioredis';
import { loginLimiter, rateLimit } from '../src/index.js';

describe('on a 3-master Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let client: Cluster;
  let guard: RedisGuard;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3 });
    client = new Cluster([...cluster.startupNodes], { enableOfflineQueue: false });
    client.on('error', () => undefined);
    guard = createRedisGuard({ client, environment: 'production', logger: captureLogger().logger });
    await guard.ready(10_000);
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('limits many clients, with counters spread over the masters', async () => {
    const limiter = rateLimit({ redis: guard, name: 'cluster', points: 2, duration: 60, blockDuration: 120 });
    const keys = Array.from({ length: 30 }, (_, i) => `ip:198.51.100.${i}`);
    for (const key of keys) {
      expect((await limiter.checkKey(key)).outcome).toBe('allowed');
      expect((await limiter.checkKey(key)).outcome).toBe('allowed');
      const third = await limiter.checkKey(key);
      expect(third).toMatchObject({ outcome: 'limited' });
      expect(third.outcome === 'limited' && third.retryAfterSeconds).toBeGreaterThan(110);
    }
    const perNode = await Promise.all(
      cluster.nodes.map(async (node) => {
        const direct = new Redis({ port: node.port, lazyConnect: true });
        await direct.connect();
        const found = await direct.keys('sec:rl:cluster:*');
        direct.disconnect();
        return found.length;
      }),
    );
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(keys.length);
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it('runs the login limiter (including its block) across slots', async () => {
    const login = loginLimiter({
      redis: guard,
      name: 'cluster-login',
      maxConsecutiveFailsByUsernameAndIp: 2,
    });
    const req = { ip: '203.0.113.50', headers: {} } as never;
    await login.recordFailure(req, 'alice');
    expect(await login.recordFailure(req, 'alice')).toMatchObject({
      outcome: 'limited',
      reason: 'username_ip',
    });
    expect(await login.check(req, 'alice')).toMatchObject({ outcome: 'limited' });
    expect(await login.check(req, 'bob')).toEqual({ outcome: 'allowed' });
  });
});
