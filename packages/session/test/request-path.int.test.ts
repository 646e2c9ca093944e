import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import { InvalidTokenError, type SessionManager } from '../src/index.js';
import { REFUSAL_MEMORY, RefusalLog } from '../src/refusals.js';
import { bearer, listen, manager } from './helpers.js';

// The request path reads the session (record and roles) without writing, and writes only to slide
// the idle expiry or drop an expired record, each in its own atomic step. These tests try to make
// that split bring a revoked session back, make a plain request write, and make the refusal log
// grow or repeat itself.

const WRITES = ['hset', 'hdel', 'pexpire', 'unlink', 'del', 'publish'];

/** Calls per command since the server started, from INFO commandstats. */
async function commandCalls(raw: Redis): Promise<Map<string, number>> {
  const stats = await raw.info('commandstats');
  return new Map([...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Writes Redis has applied since it started (it never saves here): any write moves it. */
async function changesSinceSave(raw: Redis): Promise<number> {
  return Number(/rdb_changes_since_last_save:(\d+)/.exec(await raw.info('persistence'))![1]);
}

/**
 * Makes every Redis call of a guard resolve only after `between` has run: the slow async work an
 * app might do between a read and the write that follows it. The guard stays the one
 * createRedisGuard() made (the packages accept no look-alike), with its execute() wrapped.
 */
function slowed(guard: RedisGuard, between: () => Promise<void>): RedisGuard {
  const execute = guard.execute.bind(guard);
  return Object.assign(guard, {
    execute: async (...args: Parameters<RedisGuard['execute']>) => {
      const result = await execute(...args);
      await between();
      return result;
    },
  });
}

describe('the session request path on a real redis-server', () => {
  let redis: RedisServer;
  let raw: Redis;
  let guardA: RedisGuard;
  let guardB: RedisGuard;
  const extra: RedisGuard[] = [];
  /** Another guard on the same server, closed with the others. */
  const newGuard = async () => {
    const guard = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    extra.push(guard);
    await guard.ready();
    return guard;
  };
  let workerB: SessionManager;
  const log = captureLogger();

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis({ port: redis.port, lazyConnect: true });
    await raw.connect();
    guardA = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    guardB = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    await Promise.all([guardA.ready(), guardB.ready()]);
    workerB = manager({ redis: guardB, logger: log.logger });
  });
  afterAll(async () => {
    await workerB?.close();
    await Promise.all([guardA?.close(), guardB?.close(), ...extra.map((guard) => guard.close())]);
    raw?.disconnect();
    await redis?.stop();
  });

  it('a request whose session is not due a touch reads and never writes', async () => {
    const sessions = manager({ redis: guardA, logger: log.logger });
    const { accessToken } = await sessions.create('reader', { roles: ['user'] });
    const before = await commandCalls(raw);
    const dirty = await changesSinceSave(raw);
    for (let i = 0; i < 20; i++) await sessions.verifyRequestToken(accessToken);
    const after = await commandCalls(raw);
    // One read-only script per request, holding two HGETs; no write command, no change to the data.
    for (const command of WRITES)
      expect([command, after.get(command)]).toEqual([command, before.get(command)]);
    expect((after.get('evalsha') ?? 0) - (before.get('evalsha') ?? 0)).toBe(20);
    expect((after.get('hget') ?? 0) - (before.get('hget') ?? 0)).toBe(40);
    expect(await changesSinceSave(raw)).toBe(dirty);
    await sessions.close();
  });

  it('a revoke landing between the lookup and the touch wins: 401, and the session stays gone', async () => {
    let clock = Date.now();
    let pending: (() => Promise<unknown>) | undefined;
    // After the next Redis call (the lookup) answers, another worker revokes the session.
    const guard = slowed(await newGuard(), async () => {
      const revoke = pending;
      pending = undefined;
      await revoke?.();
    });
    const sessions = manager({ redis: guard, logger: log.logger, now: () => clock });
    const { accessToken, sessionId } = await sessions.create('interleaved');
    clock += 2 * 60_000; // the idle expiry is due a slide: the lookup is followed by a touch
    pending = () => workerB.revoke(sessionId);
    const error = await sessions.verifyRequestToken(accessToken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).reason).toBe('unknown_session');
    expect(pending).toBeUndefined();
    expect(await raw.hexists('sec:sess:{u:interleaved}', sessionId.split('.')[1]!)).toBe(0);
    expect(await workerB.get(sessionId)).toBeUndefined();
    await sessions.close();
  });

  it('150 requests due a touch, slowed between read and write, around a revoke: 200 or 401 only, none after it, and no resurrection', async () => {
    let tick = Date.now();
    // Every request sees the clock a minute later than the one before: every lookup is followed by a touch.
    const sessions = manager({
      redis: slowed(await newGuard(), () => new Promise((resolve) => setImmediate(resolve))),
      logger: log.logger,
      now: () => (tick += 61_000),
      idleTimeoutMs: 86_400_000,
      absoluteTimeoutMs: 604_800_000,
    });
    const app = express();
    app.get('/me', sessions.authenticate(), (req, res) => {
      res.json(req.auth);
    });
    const http: { server: Server; url: string } = await listen(app);
    try {
      const { accessToken, sessionId } = await sessions.create('burst');
      const hit = () =>
        fetch(`${http.url}/me`, { headers: bearer(accessToken) }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        });
      const during = Array.from({ length: 150 }, hit);
      expect(await workerB.revoke(sessionId)).toBe(true);
      const after = await Promise.all(Array.from({ length: 50 }, hit));
      const statuses = await Promise.all(during);
      expect(new Set([...statuses, ...after].filter((s) => s !== 200 && s !== 401))).toEqual(new Set());
      expect(new Set(after)).toEqual(new Set([401]));
      expect(await raw.hexists('sec:sess:{u:burst}', sessionId.split('.')[1]!)).toBe(0);
      expect(await workerB.get(sessionId)).toBeUndefined();
    } finally {
      http.server.close();
      await sessions.close();
    }
  });

  it('a store that answers with a data error (WRONGTYPE): 503 to requests and upgrades, logged once, never a 500', async () => {
    const sessions = manager({ redis: guardA, logger: log.logger });
    const { accessToken } = await sessions.create('wrongtype');
    await raw.del('sec:sess:{u:wrongtype}');
    await raw.set('sec:sess:{u:wrongtype}', 'not a hash');
    const app = express();
    // Two authenticate() middlewares and an upgrade share one refusal log.
    app.get('/a', sessions.authenticate(), (_req, res) => res.json({}));
    app.get('/b', sessions.authenticate(), (_req, res) => res.json({}));
    const http = await listen(app);
    try {
      for (const path of ['/a', '/b', '/a', '/b']) {
        const response = await fetch(`${http.url}${path}`, { headers: bearer(accessToken) });
        expect([response.status, response.headers.get('retry-after')]).toEqual([
          503,
          expect.stringMatching(/^[1-9]\d*$/),
        ]);
        expect(await response.json()).toMatchObject({ error: 'service_unavailable', service: 'session' });
      }
      const upgrade = await sessions
        .authenticateRequest(
          Object.assign(Object.create(null), { headers: { ...bearer(accessToken), upgrade: 'websocket' } }),
        )
        .catch((e: unknown) => e);
      expect(upgrade).toBeInstanceOf(Error);
      expect(upgrade).not.toBeInstanceOf(InvalidTokenError);
      const lines = log.records.filter((r) => (r.obj as { event?: string }).event === 'session.store_error');
      expect(lines).toHaveLength(1);
      expect(lines[0]!.msg).toContain('WRONGTYPE');
    } finally {
      http.server.close();
      await sessions.close();
    }
  });
});

describe('the refusal log', () => {
  it('logs each refusal once while remembered, and forgets the oldest beyond REFUSAL_MEMORY', () => {
    const log = captureLogger();
    const refusals = new RefusalLog(log.logger);
    const count = (event: string) =>
      log.records.filter((r) => (r.obj as { event?: string }).event === event).length;
    for (let i = 0; i < 3; i++) {
      refusals.token('first-token', 'signature');
      refusals.crossOrigin('https://evil.example', 'POST');
      refusals.storeError(new Error('first failure'));
    }
    expect([count('session.token_rejected'), count('session.cross_origin_refused')]).toEqual([1, 1]);
    expect(count('session.store_error')).toBe(1);
    // One memory for every kind: REFUSAL_MEMORY other refusals push the first ones out.
    for (let i = 0; i < REFUSAL_MEMORY; i++) refusals.storeError(new Error(`failure ${i}`));
    refusals.token('first-token', 'signature');
    refusals.crossOrigin('https://evil.example', 'POST');
    refusals.storeError(new Error('first failure'));
    expect([count('session.token_rejected'), count('session.cross_origin_refused')]).toEqual([2, 2]);
    expect(count('session.store_error')).toBe(REFUSAL_MEMORY + 2);
    expect(log.text()).not.toContain('first-token');
  });
});
