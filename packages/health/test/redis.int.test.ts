import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type Environment, type RedisGuard, requireRedis } from '@sec/redis-guard';
import { captureLogger, type RedisServer, redisCli, startRedis, waitFor } from '@sec/testing';
import express, { type Express } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  assertStartupHealthy,
  createHealth,
  type Health,
  type HealthCheck,
  redisCheck,
} from '../src/index.js';

// Long enough for production rules; it also goes into the URL so a leak of either form would show.
const PASSWORD = 'Health-Int-Password-0123456789-abcdefghijkl';

interface Deployment {
  readonly guard: RedisGuard;
  readonly health: Health;
  readonly app: Express;
}

describe('health endpoints against a real, password-protected Redis', () => {
  let server: RedisServer;
  const log = captureLogger();
  const guards: RedisGuard[] = [];
  const bodies: string[] = [];
  let production: Deployment;
  let development: Deployment;
  let strictDevelopment: Deployment;

  const deploy = (environment: Environment, env: NodeJS.ProcessEnv = {}): Deployment => {
    const guard = createRedisGuard({
      config: {
        url: `redis://:${PASSWORD}@127.0.0.1:${server.port}`,
        insecureAllowPlaintext: true,
        singleHost: true,
      },
      environment,
      logger: log.logger,
      breaker: { openDurationMs: 1_000, probeIntervalMs: 100 },
    });
    guards.push(guard);
    const health = createHealth({
      checks: [redisCheck(guard, { timeoutMs: 300 })],
      cacheMs: 0,
      version: '9.9.9',
      env,
    });
    const app = express();
    app.use('/health', health.router());
    return { guard, health, app };
  };

  /** GET that records every body, so the final test can prove no secret was ever served. */
  const get = async (deployment: Deployment, path: string, accept = 'application/json') => {
    const res = await request(deployment.app).get(`/health${path}`).set('Accept', accept);
    bodies.push(res.text);
    expect(res.text).not.toContain(PASSWORD);
    return res;
  };

  beforeAll(async () => {
    server = await startRedis({ password: PASSWORD });
    production = deploy('production');
    development = deploy('development');
    strictDevelopment = deploy('development', { REQUIRE_REDIS_SESSIONS: 'true' });
    await Promise.all(guards.map((g) => g.ready(5_000)));
  });
  afterAll(async () => {
    await Promise.all(guards.map((g) => g.close()));
    await server?.stop();
  });

  it('up: the start-up gate passes and readiness is 200 in every environment', async () => {
    for (const deployment of [production, development, strictDevelopment]) {
      await expect(assertStartupHealthy(deployment.health, { waitMs: 1_000 })).resolves.toMatchObject({
        status: 'healthy',
      });
      const res = await get(deployment, '/ready');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'ready',
        healthy: true,
        services: [
          {
            name: 'redis',
            status: 'healthy',
            message: 'Redis connection successful',
            required: deployment !== development,
          },
        ],
      });
    }
    const detailed = await get(production, '/detailed');
    expect(detailed.status).toBe(200);
    expect(detailed.body).toMatchObject({
      status: 'healthy',
      healthy: true,
      environment: 'production',
      version: '9.9.9',
    });
    expect(detailed.body.services[0]).toMatchObject({
      name: 'redis',
      healthy: true,
      required: true,
      circuit_state: 'closed',
      failure_count: 0,
      is_mock: false,
    });
    expect(detailed.body.services[0].latency_ms).toBeGreaterThan(0);
    const draft = await get(production, '/ready', 'application/health+json');
    expect(draft.body).toMatchObject({
      status: 'pass',
      checks: { 'redis:responseTime': [{ componentType: 'datastore', observedUnit: 'ms', status: 'pass' }] },
    });
  });

  it('caches results: two quick probes cost Redis one PING', async () => {
    const cached = createHealth({
      checks: [redisCheck(production.guard)],
      cacheMs: 5_000,
      logger: captureLogger().logger,
    });
    const app = express().use('/health', cached.router());
    const pings = async () =>
      Number(/cmdstat_ping:calls=(\d+)/.exec(await redisCli(server, 'INFO', 'commandstats'))?.[1] ?? 0);
    const before = await pings();
    await request(app).get('/health/ready');
    await request(app).get('/health/detailed');
    expect((await pings()) - before).toBe(1);
  });

  it('accepts a bare ioredis client, wrapping it in a guard of its own', async () => {
    const client = new Redis({
      port: server.port,
      password: PASSWORD,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const health = createHealth({
        checks: [redisCheck(client)],
        environment: 'test',
        logger: captureLogger().logger,
      });
      const report = await health.check();
      expect(report.services[0]).toMatchObject({ name: 'redis', healthy: true, required: false });
      expect(report.services[0]?.details).toMatchObject({ is_mock: false, circuit_state: 'closed' });
    } finally {
      client.disconnect();
    }
  });

  it('slow: a Redis that does not answer is reported failed at the timeout; the endpoint still answers', async () => {
    // CLIENT UNPAUSE would itself wait behind the pause, so the pause is short and simply expires.
    await redisCli(server, 'CLIENT', 'PAUSE', '1500', 'ALL');
    const started = performance.now();
    const res = await get(production, '/ready');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'not ready', failed_required: ['redis'] });
    expect(res.body.services[0].message).toBe('redis check timed out after 300 ms');
    const dev = await get(development, '/ready');
    expect(dev.status).toBe(200);
    expect(dev.body.services[0]).toMatchObject({ status: 'degraded', required: false });
    await waitFor(
      'production ready again once the pause expires',
      async () => (await get(production, '/ready')).status === 200,
      5_000,
    );
  });

  it('down: production is unhealthy and not ready; development is degraded and ready, saying what is true', async () => {
    await server.kill();

    const started = performance.now();
    const prod = await get(production, '/ready');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(prod.status).toBe(503);
    expect(prod.body).toMatchObject({
      status: 'not ready',
      healthy: false,
      failed_services: ['redis'],
      failed_required: ['redis'],
    });
    expect(prod.body.services[0].message).toMatch(
      /^Redis connection failed: .*\. CRITICAL: Redis is MANDATORY in production for multi-worker session management\. Session revocation WILL NOT WORK without Redis\./,
    );

    const dev = await get(development, '/ready');
    expect(dev.status).toBe(200);
    expect(dev.body).toMatchObject({ status: 'ready', healthy: false });
    expect(dev.body.services[0]).toMatchObject({ name: 'redis', status: 'degraded', required: false });
    // Redis is configured, so nothing runs in memory: the text says 503, and requireRedis does answer 503.
    expect(dev.body.services[0].message).toMatch(
      /^Redis connection failed: .*\. WARNING: Redis is configured, so nothing falls back to memory: requests that need Redis \(sessions, rate limits, requireRedis\) answer 503 with Retry-After until it is back\.$/,
    );
    expect(dev.body.services[0].message).not.toMatch(/in-memory/);
    const api = express()
      .use(requireRedis(development.guard))
      .get('/', (_req, res) => res.send('served'));
    const call = await request(api).get('/');
    expect(call.status).toBe(503);
    expect(Number(call.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    const strict = await get(strictDevelopment, '/ready');
    expect(strict.status).toBe(503);
    expect(strict.body.failed_required).toEqual(['redis']);

    const detailed = await get(production, '/detailed');
    expect(detailed.status).toBe(503);
    expect(detailed.body).toMatchObject({
      status: 'unhealthy',
      healthy: false,
      ready: false,
      environment: 'production',
    });
    expect(detailed.body.services[0]).toMatchObject({
      name: 'redis',
      status: 'unhealthy',
      healthy: false,
      is_mock: false,
    });
    expect(detailed.body.services[0].failure_count).toBeGreaterThan(0);

    const devDetailed = await get(development, '/detailed');
    expect(devDetailed.status).toBe(200);
    expect(devDetailed.body.status).toBe('degraded');

    const draft = await get(production, '/ready', 'application/health+json');
    expect(draft.status).toBe(503);
    expect(draft.body).toMatchObject({
      status: 'fail',
      checks: { 'redis:responseTime': [{ status: 'fail' }] },
    });
    const devDraft = await get(development, '/ready', 'application/health+json');
    expect(devDraft.status).toBe(200);
    expect(devDraft.body.status).toBe('warn');

    expect((await get(production, '/live')).status).toBe(200);
  });

  it('down: the breaker opens under repeated probes and the endpoint keeps answering at once', async () => {
    for (let i = 0; i < 6; i++) await get(production, '/ready');
    const detailed = await get(production, '/detailed');
    expect(detailed.body.services[0].circuit_state).toBe('open');
    expect(detailed.body.services[0].message).toMatch(/circuit breaker is open/);
  });

  it('down: the start-up gate throws in production and warns in development', async () => {
    const gate = assertStartupHealthy(production.health, { waitMs: 300, retryMs: 100 });
    await expect(gate).rejects.toMatchObject({
      name: 'StartupHealthError',
      code: 'ERR_SEC_HEALTH_STARTUP_UNHEALTHY',
      failedRequired: ['redis'],
    });
    await expect(gate).rejects.toThrow(/Required services unavailable in production: redis/);
    await expect(assertStartupHealthy(strictDevelopment.health, { waitMs: 0 })).rejects.toMatchObject({
      failedRequired: ['redis'],
    });

    const report = await assertStartupHealthy(development.health, { waitMs: 0 });
    expect(report).toMatchObject({
      status: 'degraded',
      ready: true,
      failedServices: ['redis'],
      failedRequired: [],
    });
    const warning = log.records.find(
      (r) => (r.obj as { event?: string }).event === 'service.startup.degraded',
    );
    expect(warning?.msg).toMatch(/Redis is configured, so nothing falls back to memory/);
  });

  it('logs service.dependency.check on each state change with the fields operators alert on', () => {
    const events = log.records
      .map((r): Record<string, unknown> => ({ level: r.level, ...r.obj }))
      .filter((r) => r.event === 'service.dependency.check' && r.environment === 'production');
    expect(events).toContainEqual(
      expect.objectContaining({
        level: 'error',
        dependency: 'redis',
        status: 'unhealthy',
        healthy: false,
        required: true,
        message: expect.stringMatching(/CRITICAL: Redis is MANDATORY in production/),
      }),
    );
    // One line per change, not one per probe (the production deployment was probed 20+ times).
    expect(events.map((e) => e.status)).toEqual(['healthy', 'unhealthy', 'healthy', 'unhealthy']);
  });

  it('recovered: readiness returns to 200 after Redis restarts', async () => {
    await server.restart();
    for (const deployment of [production, development, strictDevelopment]) {
      await waitFor(
        'ready after restart',
        async () => (await get(deployment, '/ready')).status === 200,
        10_000,
      );
    }
    const detailed = await get(production, '/detailed');
    expect(detailed.body.services[0]).toMatchObject({
      healthy: true,
      status: 'healthy',
      message: 'Redis connection successful',
    });
    expect(
      log.records.some((r) => (r.obj as { status?: string }).status === 'healthy' && r.level === 'info'),
    ).toBe(true);
  });

  it('custom checks that leak a known secret are masked with the guard secrets', async () => {
    const leaky: HealthCheck = {
      name: 'worker',
      guard: production.guard,
      check: async () => {
        throw new Error(`AUTH ${PASSWORD} rejected`);
      },
    };
    const health = createHealth({ checks: [leaky], environment: 'production', logger: log.logger });
    const app = express().use('/health', health.router());
    const res = await request(app).get('/health/detailed');
    bodies.push(res.text);
    expect(res.body.services[0].message).toBe('worker check failed: AUTH **** rejected');
  });

  it('never served or logged the password', () => {
    expect(bodies.length).toBeGreaterThan(20);
    for (const body of bodies) expect(body).not.toContain(PASSWORD);
    expect(log.text()).not.toContain(PASSWORD);
    expect(log.text()).not.toContain(encodeURIComponent(PASSWORD));
  });
});
