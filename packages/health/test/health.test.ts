import { describe, expect, it } from '@jest/globals';
import { createRedisGuard } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import {
  assertStartupHealthy,
  createHealth,
  type HealthCheck,
  type HealthOptions,
  redisCheck,
} from '../src/index.js';
import { requireRedisFromEnv } from '../src/require-redis.js';

const ok = (name: string, extra: Partial<HealthCheck> = {}): HealthCheck => ({
  name,
  check: async () => ({ healthy: true, message: `${name} answered` }),
  ...extra,
});

const failing = (name: string, extra: Partial<HealthCheck> = {}): HealthCheck => ({
  name,
  check: async () => ({ healthy: false, message: `${name} refused the connection` }),
  ...extra,
});

/** A check that only finishes when its timeout aborts it, so no timer outlives the test. */
const hanging = (name: string, timeoutMs: number, aborted: { value: boolean }): HealthCheck => ({
  name,
  timeoutMs,
  check: ({ signal }) =>
    new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        aborted.value = true;
        reject(new Error('aborted'));
      });
    }),
});

function app(options: HealthOptions) {
  const log = captureLogger();
  const health = createHealth({ logger: log.logger, ...options });
  const server = express();
  server.use('/health', health.router());
  return { health, server, log };
}

describe('createHealth option validation', () => {
  it('names the unknown option and suggests the right one', () => {
    expect(() => createHealth({ checks: [], cahceMs: 5 } as unknown as HealthOptions)).toThrow(
      /unknown option "cahceMs".*did you mean "cacheMs"/,
    );
  });

  it('requires checks and rejects bad values with OptionError', () => {
    expect(() => createHealth({} as HealthOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_SEC_INVALID_OPTION', option: 'checks' }),
    );
    expect(() => createHealth({ checks: [], timeoutMs: 0 })).toThrow(/timeoutMs.*positive integer/);
    expect(() => createHealth({ checks: [], environment: 'prod' as never })).toThrow(/environment/);
  });

  it('rejects duplicate names, colons in names and checks without a function', () => {
    expect(() => createHealth({ checks: [ok('db'), ok('db')] })).toThrow(/already registered/);
    expect(() => createHealth({ checks: [ok('db:primary')] })).toThrow(/without ":"/);
    expect(() => createHealth({ checks: [{ name: 'db' } as HealthCheck] })).toThrow(
      /"check" must be an async function/,
    );
    expect(() => createHealth({ checks: [ok('db', { tiemoutMs: 5 } as never)] })).toThrow(
      /did you mean "timeoutMs"/,
    );
  });

  it('redisCheck needs something to check and validates its options', () => {
    expect(() => redisCheck(undefined as never)).toThrow(/pass the RedisGuard/);
    const guard = createRedisGuard({ mode: 'memory', environment: 'test', logger: captureLogger().logger });
    expect(() => redisCheck(guard, { requried: true } as never)).toThrow(/did you mean "required"/);
  });

  it('reads REQUIRE_REDIS_SESSIONS strictly', () => {
    expect(requireRedisFromEnv({ REQUIRE_REDIS_SESSIONS: 'TRUE' })).toBe(true);
    expect(requireRedisFromEnv({ REQUIRE_REDIS_SESSIONS: '0' })).toBe(false);
    expect(requireRedisFromEnv({})).toBeUndefined();
    expect(() => requireRedisFromEnv({ REQUIRE_REDIS_SESSIONS: 'ture' })).toThrow(
      expect.objectContaining({ code: 'ERR_SEC_INVALID_FLAG', variable: 'REQUIRE_REDIS_SESSIONS' }),
    );
  });
});

describe('custom checks', () => {
  it('runs checks in parallel and reports each one', async () => {
    const slow = (name: string): HealthCheck => ({
      name,
      check: () => new Promise((resolve) => setTimeout(() => resolve({ healthy: true }), 150)),
    });
    const health = createHealth({
      checks: [slow('a'), slow('b'), slow('c')],
      environment: 'test',
      logger: captureLogger().logger,
    });
    const started = performance.now();
    const report = await health.check();
    expect(performance.now() - started).toBeLessThan(400);
    expect(report.services.map((s) => [s.name, s.status])).toEqual([
      ['a', 'healthy'],
      ['b', 'healthy'],
      ['c', 'healthy'],
    ]);
  });

  it('reports a check that exceeds its timeout as failed, aborts it, and answers promptly', async () => {
    const aborted = { value: false };
    const { server } = app({
      checks: [ok('db'), hanging('search', 200, aborted)],
      environment: 'production',
    });
    const started = performance.now();
    const res = await request(server).get('/health/ready');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: 'not ready',
      healthy: false,
      failed_services: ['search'],
      failed_required: ['search'],
    });
    expect(aborted.value).toBe(true);
    const detailed = await request(server).get('/health/detailed');
    const search = detailed.body.services.find((s: { name: string }) => s.name === 'search');
    expect(search).toMatchObject({
      healthy: false,
      timed_out: true,
      message: 'search check timed out after 200 ms',
    });
    expect(search.latency_ms).toBeGreaterThanOrEqual(199);
  });

  it('turns a throwing check into a failed result with its message', async () => {
    const boom: HealthCheck = {
      name: 'queue',
      check: () => {
        throw new Error('broker went away');
      },
    };
    const report = await createHealth({
      checks: [boom],
      environment: 'test',
      logger: captureLogger().logger,
    }).check();
    expect(report.services[0]).toMatchObject({
      healthy: false,
      status: 'unhealthy',
      message: 'queue check failed: broker went away',
    });
  });

  it('keeps an optional failing check ready but degraded', async () => {
    const { server } = app({
      checks: [ok('db'), failing('cache', { required: false })],
      environment: 'production',
    });
    const res = await request(server).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ready',
      healthy: false,
      services: [
        { name: 'db', status: 'healthy', message: 'db answered', required: true },
        { name: 'cache', status: 'degraded', message: 'cache refused the connection', required: false },
      ],
    });
  });

  it("never lets a check's details overwrite its verdict", async () => {
    const sneaky: HealthCheck = {
      name: 'db',
      check: async () => ({
        healthy: false,
        message: 'down',
        details: { healthy: true, status: 'healthy', pool: 4 },
      }),
    };
    const { server } = app({ checks: [sneaky], environment: 'production' });
    const detailed = await request(server).get('/health/detailed');
    expect(detailed.body.services[0]).toMatchObject({ healthy: false, status: 'unhealthy', pool: 4 });
    const draft = await request(server).get('/health/detailed').set('Accept', 'application/health+json');
    expect(draft.body.checks['db:responseTime'][0]).toMatchObject({ status: 'fail', pool: 4 });
  });

  it('masks URL passwords in messages even when no guard knows them', async () => {
    const leaky: HealthCheck = {
      name: 'db',
      check: async () => ({
        healthy: false,
        message: 'cannot reach postgres://app:Sup3rSecretPw@db.internal:5432/app',
      }),
    };
    const { server, log } = app({ checks: [leaky], environment: 'production' });
    const res = await request(server).get('/health/detailed');
    expect(res.text).not.toContain('Sup3rSecretPw');
    expect(res.body.services[0].message).toContain('postgres://app:****@db.internal');
    expect(log.text()).not.toContain('Sup3rSecretPw');
  });
});

describe('caching', () => {
  it('shares one run between concurrent and quick successive requests', async () => {
    let runs = 0;
    const counted: HealthCheck = {
      name: 'db',
      check: async () => {
        runs += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { healthy: true };
      },
    };
    const { server, health } = app({ checks: [counted], environment: 'test', cacheMs: 60_000 });
    await Promise.all([1, 2, 3, 4, 5].map(() => request(server).get('/health/ready')));
    await request(server).get('/health/detailed');
    expect(runs).toBe(1);
    await health.check({ fresh: true });
    expect(runs).toBe(2);
  });

  it('runs every time with cacheMs: 0', async () => {
    let runs = 0;
    const counted: HealthCheck = {
      name: 'db',
      check: async () => {
        runs += 1;
        return { healthy: true };
      },
    };
    const health = createHealth({
      checks: [counted],
      environment: 'test',
      cacheMs: 0,
      logger: captureLogger().logger,
    });
    await health.check();
    await health.check();
    expect(runs).toBe(2);
  });
});

describe('endpoints', () => {
  it('answers /live without running any check, with no-store', async () => {
    let runs = 0;
    const { server } = app({
      checks: [
        {
          name: 'db',
          check: async () => {
            runs += 1;
            return { healthy: true };
          },
        },
      ],
      version: '2.0.1',
    });
    const res = await request(server).get('/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'alive', healthy: true, version: '2.0.1' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(runs).toBe(0);
  });

  it('serves the health+json draft format when asked for it', async () => {
    const { server } = app({
      checks: [ok('db', { componentType: 'datastore' }), failing('cache', { required: false })],
      environment: 'staging',
      version: '1.2.3',
    });
    const res = await request(server).get('/health/ready').set('Accept', 'application/health+json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/health\+json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      status: 'warn',
      version: '1.2.3',
      notes: ['environment: staging'],
      output: 'cache: cache refused the connection',
      checks: {
        'db:responseTime': [
          { componentType: 'datastore', observedUnit: 'ms', status: 'pass', required: true },
        ],
        'cache:responseTime': [
          { componentType: 'component', status: 'warn', output: 'cache refused the connection' },
        ],
      },
    });
    expect(typeof res.body.checks['db:responseTime'][0].observedValue).toBe('number');
    expect(res.body.checks['db:responseTime'][0]).not.toHaveProperty('output');
    const live = await request(server).get('/health/live').set('Accept', 'application/health+json');
    expect(live.body).toEqual({ status: 'pass', version: '1.2.3' });
  });

  it('answers health+json "fail" with a 5xx, as the draft requires', async () => {
    const { server } = app({ checks: [failing('db')], environment: 'production' });
    const res = await request(server).get('/health/detailed').set('Accept', 'application/health+json');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('fail');
    expect(res.body.checks['db:responseTime'][0]).toMatchObject({
      status: 'fail',
      output: 'db refused the connection',
    });
  });

  it('keeps plain JSON for */* and application/json clients', async () => {
    const { server } = app({ checks: [ok('db')] });
    for (const accept of ['*/*', 'application/json']) {
      const res = await request(server).get('/health/ready').set('Accept', accept);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.status).toBe('ready');
    }
  });
});

describe('memory-mode guard (development without Redis)', () => {
  const memoryGuard = (environment: 'development' | 'test') =>
    createRedisGuard({ mode: 'memory', environment, logger: captureLogger().logger });

  it('reports Redis as degraded and optional, and stays ready', async () => {
    const guard = memoryGuard('development');
    const { server } = app({ checks: [redisCheck(guard)], env: {} });
    const res = await request(server).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.services[0]).toMatchObject({ name: 'redis', status: 'degraded', required: false });
    expect(res.body.services[0].message).toMatch(
      /in-memory mode.*WARNING: Running with in-memory fallback \(DEVELOPMENT ONLY\)/,
    );
    const detailed = await request(server).get('/health/detailed');
    expect(detailed.body).toMatchObject({ environment: 'development', version: null });
    expect(detailed.body.services[0]).toMatchObject({
      is_mock: true,
      circuit_state: 'closed',
      failure_count: 0,
    });
  });

  it('REQUIRE_REDIS_SESSIONS=true makes Redis required, so readiness fails', async () => {
    const guard = memoryGuard('development');
    const { server, health } = app({ checks: [redisCheck(guard)], env: { REQUIRE_REDIS_SESSIONS: 'true' } });
    expect(health.requireRedis).toBe(true);
    const res = await request(server).get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ failed_required: ['redis'] });
    expect(res.body.services[0].message).toMatch(/CRITICAL: Redis is MANDATORY in development/);
  });

  it('the requireRedis option does the same, and an explicit required: false wins over both', async () => {
    const guard = memoryGuard('test');
    const forced = createHealth({
      checks: [redisCheck(guard)],
      requireRedis: true,
      env: {},
      logger: captureLogger().logger,
    });
    expect((await forced.check()).failedRequired).toEqual(['redis']);
    const optional = createHealth({
      checks: [redisCheck(guard, { required: false })],
      requireRedis: true,
      env: {},
      logger: captureLogger().logger,
    });
    expect((await optional.check()).ready).toBe(true);
  });

  it('the start-up gate returns the report with a warning in development', async () => {
    const log = captureLogger();
    const health = createHealth({
      checks: [redisCheck(memoryGuard('development'))],
      env: {},
      logger: log.logger,
    });
    const report = await assertStartupHealthy(health, { waitMs: 0 });
    expect(report.status).toBe('degraded');
    expect(
      log.records.some(
        (r) => r.level === 'warn' && (r.obj as { event?: string }).event === 'service.startup.degraded',
      ),
    ).toBe(true);
  });
});

describe('service.dependency.check log events', () => {
  it('logs on state change only', async () => {
    let healthy = true;
    const flapping: HealthCheck = {
      name: 'db',
      check: async () => ({ healthy, message: healthy ? 'up' : 'down' }),
    };
    const log = captureLogger();
    const health = createHealth({
      checks: [flapping],
      environment: 'production',
      cacheMs: 0,
      logger: log.logger,
    });
    const events = () =>
      log.records.filter((r) => (r.obj as { event?: string }).event === 'service.dependency.check');
    await health.check();
    await health.check();
    expect(events()).toHaveLength(1);
    healthy = false;
    await health.check();
    await health.check();
    expect(events()).toHaveLength(2);
    expect(events()[1]).toMatchObject({
      level: 'error',
      obj: {
        event: 'service.dependency.check',
        dependency: 'db',
        status: 'unhealthy',
        healthy: false,
        required: true,
        message: 'down',
        environment: 'production',
      },
    });
  });
});
