import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisClusterHandle, startCluster } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { createHealth, redisCheck } from '../src/index.js';

describe('redisCheck against a real 3-master Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let guard: RedisGuard;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3 });
    guard = createRedisGuard({
      config: { clusterNodes: cluster.startupNodes },
      environment: 'test',
      logger: captureLogger().logger,
    });
    await guard.ready(10_000);
  }, 60_000);
  afterAll(async () => {
    await guard?.close();
    await cluster?.stop();
  });

  it('reports the cluster healthy through the same endpoints', async () => {
    const health = createHealth({
      checks: [redisCheck(guard, { required: true })],
      logger: captureLogger().logger,
    });
    const app = express().use('/health', health.router());
    const ready = await request(app).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      healthy: true,
      services: [
        { name: 'redis', status: 'healthy', message: 'Redis connection successful', required: true },
      ],
    });
    const detailed = await request(app).get('/health/detailed');
    expect(detailed.body.services[0]).toMatchObject({
      healthy: true,
      circuit_state: 'closed',
      is_mock: false,
    });
  });
});
