import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type Environment, OptionError, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, redisCli, startRedis, waitFor } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { assertStartupHealthy, createHealth, type RedisCheckOptions, redisCheck } from '../src/index.js';

/**
 * The Redis check audits the server's own settings: the start-up gate enforces them (production
 * refuses an evicting Redis, other findings warn), /detailed shows them, and readiness never
 * depends on them.
 */
const PASSWORD = 'Health-Posture-Password-0123456789-abcdefg';

describe('the Redis server posture in the health check and the start-up gate', () => {
  let lru: RedisServer;
  let safe: RedisServer;
  const guards: RedisGuard[] = [];
  beforeAll(async () => {
    [lru, safe] = await Promise.all([
      startRedis({ password: PASSWORD, config: { 'maxmemory-policy': 'allkeys-lru', appendonly: 'yes' } }),
      startRedis({ password: PASSWORD, config: { appendonly: 'yes' } }),
    ]);
  });
  afterEach(async () => {
    await Promise.all(guards.splice(0).map((g) => g.close()));
  });
  afterAll(async () => {
    await Promise.all([lru?.stop(), safe?.stop()]);
  });

  function deploy(server: RedisServer, environment: Environment, options: RedisCheckOptions = {}) {
    const log = captureLogger();
    const guard = createRedisGuard({
      config: { url: server.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
      environment,
      logger: log.logger,
    });
    guards.push(guard);
    const health = createHealth({ checks: [redisCheck(guard, options)], cacheMs: 0, env: {} });
    const app = express().use('/health', health.router());
    return { guard, health, app, log };
  }

  it('production on allkeys-lru: the gate refuses with the rule code, naming maxmemory-policy, and logs why', async () => {
    const { health, log } = deploy(lru, 'production');
    const gate = assertStartupHealthy(health, { waitMs: 2_000 });
    await expect(gate).rejects.toMatchObject({
      name: 'ConfigurationError',
      code: 'ERR_SEC_REDIS_EVICTION_POLICY',
      variable: 'REDIS_ACCEPT_EVICTION',
    });
    await expect(gate).rejects.toThrow(/maxmemory-policy is allkeys-lru/);
    expect(log.records).toContainEqual(
      expect.objectContaining({
        level: 'error',
        obj: expect.objectContaining({
          event: 'service.startup.blocked',
          dependency: 'redis',
          code: 'ERR_SEC_REDIS_EVICTION_POLICY',
        }),
      }),
    );
  });

  it('development on allkeys-lru: the gate warns and returns; /detailed shows the finding; readiness stays 200', async () => {
    const { health, app, log } = deploy(lru, 'development');
    await expect(assertStartupHealthy(health, { waitMs: 2_000 })).resolves.toMatchObject({ ready: true });
    expect(log.records).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        obj: expect.objectContaining({ event: 'redis.posture', rule: 'eviction', status: 'warn' }),
      }),
    );
    const detailed = await request(app).get('/health/detailed');
    expect(detailed.status).toBe(200);
    const posture = detailed.body.services[0].posture;
    expect(posture).toMatchObject({ status: 'warn', user: 'default', checked_at: expect.any(String) });
    expect(posture.rules.map((r: { rule: string }) => r.rule)).toEqual([
      'eviction',
      'persistence',
      'dangerous-commands',
      'replication',
      'tls',
      'protected-mode',
    ]);
    expect(posture.rules[0]).toMatchObject({
      rule: 'eviction',
      code: 'ERR_SEC_REDIS_EVICTION_POLICY',
      status: 'warn',
      setting: 'maxmemory-policy',
      observed: 'allkeys-lru',
      override: 'REDIS_ACCEPT_EVICTION',
    });
    const ready = await request(app).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(JSON.stringify(ready.body)).not.toContain('posture');
    expect(detailed.text).not.toContain(PASSWORD);
  });

  it('production on noeviction starts; posture warnings do not touch readiness', async () => {
    const { health, app } = deploy(safe, 'production');
    await expect(assertStartupHealthy(health, { waitMs: 2_000 })).resolves.toMatchObject({
      status: 'healthy',
    });
    const detailed = await request(app).get('/health/detailed');
    expect(detailed.body).toMatchObject({ status: 'healthy', ready: true });
    expect(detailed.body.services[0].posture).toMatchObject({ status: 'warn' });
    expect(detailed.body.services[0].posture.rules[0]).toMatchObject({ rule: 'eviction', status: 'pass' });
  });

  it('without the gate, /detailed audits in the background and logs a rule whose status changes later', async () => {
    const { app, log } = deploy(safe, 'production', { posture: { refreshMs: 50 } });
    const first = await request(app).get('/health/detailed');
    expect(first.body.services[0].posture).toEqual({ status: 'pending' });
    await waitFor('the first posture report', async () => {
      const body = (await request(app).get('/health/detailed')).body;
      return body.services[0].posture.rules?.[0]?.status === 'pass';
    });
    await redisCli(
      { port: safe.port, password: PASSWORD },
      'CONFIG',
      'SET',
      'maxmemory-policy',
      'volatile-lru',
    );
    try {
      await waitFor('the change to be seen and logged', async () => {
        const res = await request(app).get('/health/detailed');
        expect(res.status).toBe(200);
        return log.records.some((r) => (r.obj as { event?: string }).event === 'redis.posture.changed');
      });
      const change = log.records.find((r) => (r.obj as { event?: string }).event === 'redis.posture.changed');
      expect(change).toMatchObject({
        level: 'error',
        obj: { rule: 'eviction', from: 'pass', to: 'refuse', observed: 'volatile-lru' },
      });
      expect((await request(app).get('/health/ready')).status).toBe(200);
    } finally {
      await redisCli(
        { port: safe.port, password: PASSWORD },
        'CONFIG',
        'SET',
        'maxmemory-policy',
        'noeviction',
      );
    }
  });

  it('an audit that could read nothing is retried within seconds, not minutes: a fixed ACL shows at once', async () => {
    // The app's user may PING but ask nothing about the server: every rule is unknown.
    const narrow = await startRedis({
      password: PASSWORD,
      users: [{ name: 'app', password: PASSWORD, rules: '~* &* -@all +ping +hello +auth +client|setname' }],
    });
    const guard = createRedisGuard({
      config: {
        url: narrow.url,
        username: 'app',
        password: PASSWORD,
        insecureAllowPlaintext: true,
        singleHost: true,
      },
      environment: 'development',
      logger: captureLogger().logger,
    });
    guards.push(guard);
    try {
      const health = createHealth({ checks: [redisCheck(guard)], cacheMs: 0, env: {} });
      const app = express().use('/health', health.router());
      const posture = async () => (await request(app).get('/health/detailed')).body.services[0].posture;
      await waitFor('a blank audit', async () => {
        const p = await posture();
        return p.rules?.every((r: { status: string }) => r.status === 'unknown') === true;
      });
      // The operator lets the user read the server's settings.
      await redisCli(narrow, 'ACL', 'SETUSER', 'app', '+info', '+acl|whoami', '+acl|dryrun', '+config|get');
      await waitFor('a complete audit', async () => (await posture()).user === 'app', 10_000);
    } finally {
      await guard.close();
      await narrow.stop();
    }
  });

  it('posture: false turns the audit off; overrides and bad options', async () => {
    const off = deploy(lru, 'production', { posture: false });
    await expect(assertStartupHealthy(off.health, { waitMs: 2_000 })).resolves.toMatchObject({ ready: true });
    expect((await request(off.app).get('/health/detailed')).body.services[0]).not.toHaveProperty('posture');

    const accepted = deploy(lru, 'production', { posture: { env: { REDIS_ACCEPT_EVICTION: 'true' } } });
    await expect(assertStartupHealthy(accepted.health, { waitMs: 2_000 })).resolves.toMatchObject({
      ready: true,
    });
    const byOption = deploy(lru, 'production', { posture: { accept: ['eviction'] } });
    await expect(assertStartupHealthy(byOption.health, { waitMs: 2_000 })).resolves.toMatchObject({
      ready: true,
    });

    const guard = guards[0]!;
    expect(() => redisCheck(guard, { posture: { accept: ['evictions' as 'eviction'] } })).toThrow(
      OptionError,
    );
    expect(() => redisCheck(guard, { posture: { refresh: 5 } as never })).toThrow(/did you mean "refreshMs"/);
  });
});
