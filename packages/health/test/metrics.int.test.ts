import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard, requireRedis } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import express, { type Express } from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createHealth, createMetrics, type Metrics, redisCheck } from '../src/index.js';
import { importPromClient } from '../src/metrics.js';

const PASSWORD = 'Metrics-Int-Password-0123456789-abcdefghijk';

// As @sec/rate-limit and @sec/session declare them, which this package does not depend on.
declare module '@sec/redis-guard' {
  interface SecEvents {
    'ratelimit.rejected': { readonly limiter: string };
    'session.revoked': { readonly scope: 'session' | 'user'; readonly count: number };
  }
}

describe('/metrics from guard events', () => {
  let server: RedisServer;
  let guard: RedisGuard;
  let metrics: Metrics;
  let app: Express;

  beforeAll(async () => {
    server = await startRedis({ password: PASSWORD });
    guard = createRedisGuard({
      config: { url: server.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
      environment: 'production',
      logger: captureLogger().logger,
      breaker: { failureThreshold: 2 },
    });
    await guard.ready(5_000);
    metrics = await createMetrics({ guards: [guard] });
    const health = createHealth({ checks: [redisCheck(guard)], cacheMs: 0, logger: captureLogger().logger });
    app = express();
    app.use('/health', health.router());
    app.get('/metrics', metrics.handler);
    app.get('/api', requireRedis(guard, { service: 'session' }), (_req, res) => {
      res.json({ ok: true });
    });
  });
  afterAll(async () => {
    metrics?.close();
    await guard?.close();
    await server?.stop();
  });

  const scrape = async () => {
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers['cache-control']).toBe('no-store');
    return res.text;
  };

  it('exposes breaker state and health-check latencies while Redis is up', async () => {
    await request(app).get('/health/ready').expect(200);
    const text = await scrape();
    expect(text).toContain('sec_redis_breaker_state{guard="redis"} 0');
    expect(text).toMatch(/sec_health_check_duration_seconds_count\{check="redis",healthy="true"\} 1/);
    expect(text).toContain('sec_health_check_up{check="redis"} 1');
  });

  it('counts rate-limit rejects and revocations reported by other packages', async () => {
    guard.report({ type: 'ratelimit.rejected', limiter: 'login' });
    guard.report({ type: 'ratelimit.rejected', limiter: 'login' });
    guard.report({ type: 'session.revoked', scope: 'user', count: 3 });
    const text = await scrape();
    expect(text).toContain('sec_ratelimit_rejected_total{limiter="login"} 2');
    expect(text).toContain('sec_session_revocations_total{scope="user"} 3');
  });

  it('counts 503s served and breaker transitions when Redis goes down', async () => {
    await server.kill();
    await request(app).get('/health/ready').expect(503);
    await request(app).get('/health/ready').expect(503);
    await request(app).get('/api').expect(503);
    const text = await scrape();
    expect(text).toContain('sec_unavailable_responses_total{service="session"} 1');
    expect(text).toContain('sec_redis_breaker_transitions_total{guard="redis",from="closed",to="open"} 1');
    expect(text).toContain('sec_redis_breaker_state{guard="redis"} 2');
    expect(text).toContain('sec_health_check_up{check="redis"} 0');
    expect(text).not.toContain(PASSWORD);
  });

  it('registers into a given registry and removes its metrics on close', async () => {
    const register = new Registry();
    const own = await createMetrics({ guards: [guard], register, prefix: 'app_' });
    expect(await register.metrics()).toContain('app_redis_breaker_state');
    own.close();
    expect(await register.metrics()).not.toContain('app_redis_breaker_state');
    // Closed: a second instance can register the same names again.
    (await createMetrics({ guards: [guard], register, prefix: 'app_' })).close();
  });

  it('validates its options', async () => {
    await expect(createMetrics({ guards: [{} as RedisGuard] })).rejects.toMatchObject({
      code: 'ERR_SEC_INVALID_OPTION',
    });
    await expect(createMetrics({ guards: [guard], prefix: 'bad-prefix' })).rejects.toThrow(/prefix/);
  });

  it('explains how to fix a missing prom-client', async () => {
    const missing = () => Promise.reject(new Error("Cannot find package 'prom-client'"));
    await expect(importPromClient(missing)).rejects.toMatchObject({
      name: 'ConfigurationError',
      code: 'ERR_SEC_HEALTH_PROM_CLIENT_MISSING',
      message: expect.stringMatching(/npm install prom-client/),
    });
  });
});
