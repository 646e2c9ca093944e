import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import {
  type CapturedLogger,
  captureLogger,
  PRODUCTION_ON_LOOPBACK,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  startCluster,
  startSentinel,
  waitFor,
} from '@sec/testing';
import express, { type Express } from 'express';
import request from 'supertest';
import { DEFAULT_CHECK_TIMEOUT_MS } from '../src/check.js';
import { createHealth, createMetrics, type Metrics, redisCheck } from '../src/index.js';

// >= 32 characters, so the production rules accept it.
const PASSWORD = 'health-topology-Password-0123456789-abcde';
const CRITICAL = /^Redis connection failed: .+ CRITICAL: Redis is MANDATORY in production/;

interface Topology {
  readonly guard: RedisGuard;
  readonly log: CapturedLogger;
}

let cluster: RedisClusterHandle;
let sentinel: RedisSentinelHandle;
const topologies = new Map<string, Topology>();

function topology(env: Readonly<Record<string, string>>): Topology {
  const log = captureLogger();
  const guard = createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...env }, logger: log.logger });
  return { guard, log };
}

/** The app users mount: health endpoints (no result cache, so every probe runs the check) and /metrics. */
function app(t: Topology, metrics?: Metrics): Express {
  const health = createHealth({ checks: [redisCheck(t.guard)], cacheMs: 0, logger: t.log.logger });
  const server = express().use('/health', health.router());
  if (metrics) server.get('/metrics', metrics.handler);
  return server;
}

beforeAll(async () => {
  [cluster, sentinel] = await Promise.all([
    startCluster({ masters: 3, password: PASSWORD }),
    startSentinel({ password: PASSWORD }),
  ]);
  topologies.set('Redis Cluster', topology(cluster.env));
  topologies.set('Redis Sentinel', topology(sentinel.env));
  await Promise.all([...topologies.values()].map((t) => t.guard.ready(10_000)));
}, 90_000);
afterAll(async () => {
  await Promise.all([...topologies.values()].map((t) => t.guard.close()));
  await Promise.all([cluster?.stop(), sentinel?.stop()]);
});

describe.each(['Redis Cluster', 'Redis Sentinel'])('%s in production', (name) => {
  let t: Topology;
  beforeAll(() => {
    t = topologies.get(name)!;
  });

  it('redisCheck reports Redis healthy and required, with its latency and a closed breaker', async () => {
    const health = createHealth({ checks: [redisCheck(t.guard)], logger: t.log.logger });
    expect(health.environment).toBe('production');
    const report = await health.check({ fresh: true });
    expect(report).toMatchObject({ status: 'healthy', ready: true, failedRequired: [] });
    const [redis] = report.services;
    expect(redis).toMatchObject({
      name: 'redis',
      status: 'healthy',
      required: true,
      message: 'Redis connection successful',
      timedOut: false,
      componentType: 'datastore',
      details: { circuit_state: 'closed', failure_count: 0, is_mock: false },
    });
    expect(redis!.latencyMs).toBeGreaterThan(0);
    expect(redis!.latencyMs).toBeLessThan(DEFAULT_CHECK_TIMEOUT_MS);
  });

  it('/health/ready answers 200 and /health/detailed shows latency and breaker state', async () => {
    const server = app(t);
    const ready = await request(server).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      healthy: true,
      services: [
        { name: 'redis', status: 'healthy', message: 'Redis connection successful', required: true },
      ],
    });
    const detailed = await request(server).get('/health/detailed');
    expect(detailed.status).toBe(200);
    expect(detailed.body).toMatchObject({ status: 'healthy', ready: true, environment: 'production' });
    expect(detailed.body.services[0]).toMatchObject({
      name: 'redis',
      healthy: true,
      required: true,
      timed_out: false,
      circuit_state: 'closed',
      failure_count: 0,
      is_mock: false,
      latency_ms: expect.any(Number),
    });
    expect(detailed.body.services[0].latency_ms).toBeGreaterThan(0);
    expect(JSON.stringify(detailed.body)).not.toContain(PASSWORD);
  });
});

describe('Redis Sentinel failover: readiness follows the master, no restart', () => {
  let t: Topology;
  let metrics: Metrics;
  let server: Express;
  const transitions: string[] = [];
  beforeAll(async () => {
    t = topologies.get('Redis Sentinel')!;
    t.guard.observe((event) => {
      if (event.type === 'breaker.transition') transitions.push(`${event.from}->${event.to}`);
    });
    metrics = await createMetrics({ guards: [t.guard] });
    server = app(t, metrics);
  });
  afterAll(() => metrics?.close());
  const timedReady = async () => {
    const started = performance.now();
    const res = await request(server).get('/health/ready');
    return { res, ms: performance.now() - started };
  };

  it('answers 503 promptly during the gap, 200 again after the failover, and counts breaker transitions', async () => {
    expect((await request(server).get('/health/ready')).status).toBe(200);
    const client = t.guard.client!;
    await sentinel.killMaster();
    await waitFor('the client to notice', async () => client.status !== 'ready', 5_000);

    // Down-after is 1 s and every probe fails at once, so all samples fall inside the gap; enough
    // of them to open the breaker (5 consecutive failures by default).
    const probes: Awaited<ReturnType<typeof timedReady>>[] = [];
    for (let i = 0; i < 8; i++) probes.push(await timedReady());
    expect(client.status).not.toBe('ready');
    for (const { res, ms } of probes) {
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        status: 'not ready',
        healthy: false,
        failed_services: ['redis'],
        failed_required: ['redis'],
      });
      expect(res.body.services[0].message).toMatch(CRITICAL);
      expect(ms).toBeLessThan(DEFAULT_CHECK_TIMEOUT_MS + 500);
    }
    expect((await request(server).get('/health/live')).status).toBe(200);
    const gap = await request(server).get('/health/detailed');
    expect(gap.status).toBe(503);
    expect(gap.body.services[0]).toMatchObject({ status: 'unhealthy', circuit_state: 'open' });
    expect(transitions).toEqual(['closed->open']);

    const promoted = await sentinel.waitForFailover();
    expect(promoted.port).toBe(sentinel.replica.port);
    await waitFor('readiness to recover', async () => (await timedReady()).res.status === 200, 20_000);
    expect(t.guard.client).toBe(client);
    const detailed = await request(server).get('/health/detailed');
    expect(detailed.status).toBe(200);
    expect(detailed.body.services[0]).toMatchObject({
      healthy: true,
      circuit_state: 'closed',
      failure_count: 0,
    });
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);

    const text = (await request(server).get('/metrics')).text;
    for (const [from, to] of transitions.map((tr) => tr.split('->'))) {
      expect(text).toContain(
        `sec_redis_breaker_transitions_total{guard="redis",from="${from}",to="${to}"} 1`,
      );
    }
    expect(text).toContain('sec_redis_breaker_state{guard="redis"} 0');
    expect(text).toContain('sec_health_check_up{check="redis"} 1');
    const failed = /sec_health_check_duration_seconds_count\{check="redis",healthy="false"\} (\d+)/.exec(
      text,
    );
    expect(Number(failed?.[1])).toBeGreaterThanOrEqual(probes.length);
    expect(t.log.text()).not.toContain(PASSWORD);
  }, 60_000);
});
