import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis, waitFor } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { type SessionEvent, SessionLimitError, sessionRouter } from '../src/index.js';
import { DEFAULT_MAX_SESSIONS_PER_USER } from '../src/manager-options.js';
import { appFor, bearer, manager } from './helpers.js';

describe('maxSessionsPerUser on a real redis-server', () => {
  let redis: RedisServer;
  let raw: Redis;
  let guard: RedisGuard;
  const log = captureLogger();

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis({ port: redis.port, lazyConnect: true });
    await raw.connect();
    guard = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    await guard.ready();
  });
  afterAll(async () => {
    raw?.disconnect();
    await guard?.close();
    await redis?.stop();
  });

  it('2,000 logins of one user leave 50 live sessions, the newest; the hash never grows past the cap', async () => {
    // One login per millisecond, so "newest" has one answer (ties would be broken by handle).
    let clock = Date.now();
    const sessions = manager({ redis: guard, logger: log.logger, now: () => clock++ });
    const app = appFor(sessions);
    const tokens: string[] = [];
    let largest = 0;
    for (let i = 0; i < 2_000; i++) {
      tokens.push((await sessions.create('mallory')).accessToken);
      if (i % 50 === 0) largest = Math.max(largest, await raw.hlen('sec:sess:{u:mallory}'));
    }
    expect(DEFAULT_MAX_SESSIONS_PER_USER).toBe(50);
    expect(largest).toBeLessThanOrEqual(50);
    expect(await raw.hlen('sec:sess:{u:mallory}')).toBe(50);
    expect(await sessions.listForUser('mallory')).toHaveLength(50);
    expect((await request(app).get('/me').set(bearer(tokens[0]!))).status).toBe(401);
    expect((await request(app).get('/me').set(bearer(tokens[1_949]!))).status).toBe(401);
    expect((await request(app).get('/me').set(bearer(tokens[1_950]!))).status).toBe(200);
    expect((await request(app).get('/me').set(bearer(tokens[1_999]!))).status).toBe(200);
    expect(await sessions.revokeAllForUser('mallory')).toBe(50);
    await sessions.close();
  });

  it('a burst of 200 parallel logins still ends with exactly the cap, and each eviction is a revoke event', async () => {
    const sessions = manager({ redis: guard, logger: log.logger, maxSessionsPerUser: 20 });
    const events: SessionEvent[] = [];
    const stop = sessions.onEvent((e) => events.push(e));
    await waitFor('the subscriber', async () => (await raw.pubsub('NUMSUB', 'sec:session:events'))[1] === 1);
    const created = await Promise.all(Array.from({ length: 200 }, () => sessions.create('burst')));
    expect(await raw.hlen('sec:sess:{u:burst}')).toBe(20);
    const live = new Set((await sessions.listForUser('burst')).map((s) => s.sessionId));
    expect(live.size).toBe(20);
    await waitFor(
      '180 eviction events',
      async () => events.filter((e) => e.type === 'revoke').length === 180,
    );
    const evicted = events.filter((e) => e.type === 'revoke');
    expect(evicted.every((e) => e.type === 'revoke' && e.reason === 'session_limit')).toBe(true);
    const evictedIds = new Set(evicted.map((e) => (e as { sessionId: string }).sessionId));
    expect([...live].some((id) => evictedIds.has(id))).toBe(false);
    expect(evictedIds.size + live.size).toBe(created.length);
    stop();
    await sessions.close();
  });

  it('revokes the session unused for longest, not the one in use', async () => {
    let clock = Date.now();
    const sessions = manager({ redis: guard, maxSessionsPerUser: 5, now: () => clock });
    const phone = await sessions.create('nina');
    const others = [];
    for (let i = 0; i < 4; i++) {
      clock += 1_000;
      others.push(await sessions.create('nina'));
    }
    clock += 61_000; // past touchIntervalMs: this request records the phone as just used
    await sessions.verifyRequestToken(phone.accessToken);
    clock += 1_000;
    const laptop = await sessions.create('nina');
    await expect(sessions.verifyRequestToken(phone.accessToken)).resolves.toMatchObject({ userId: 'nina' });
    await expect(sessions.verifyRequestToken(others[0]!.accessToken)).rejects.toMatchObject({
      reason: 'unknown_session',
    });
    const ids = (await sessions.listForUser('nina')).map((s) => s.sessionId).sort();
    expect(ids).toEqual([phone, ...others.slice(1), laptop].map((s) => s.sessionId).sort());
    await sessions.close();
  });

  it("'refuse' fails the login at the cap: SessionLimitError from create(), 409 from the router", async () => {
    const sessions = manager({ redis: guard, maxSessionsPerUser: 3, sessionLimitPolicy: 'refuse' });
    const app = express().use(
      '/auth',
      sessionRouter(sessions, { verifyCredentials: ({ username }) => ({ userId: String(username) }) }),
    );
    const first = await sessions.create('olga');
    await sessions.create('olga');
    await sessions.create('olga');
    await expect(sessions.create('olga')).rejects.toBeInstanceOf(SessionLimitError);
    const refused = await request(app).post('/auth/login').send({ username: 'olga' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: 'session_limit_reached' });
    expect(await raw.hlen('sec:sess:{u:olga}')).toBe(3);
    await sessions.revoke(first.sessionId);
    expect((await request(app).post('/auth/login').send({ username: 'olga' })).status).toBe(201);
    await sessions.close();
  });

  it('a hash longer than the cap is cut back to the cap by the next login', async () => {
    const sessions = manager({ redis: guard });
    const now = Date.now();
    const legacy: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const handle = `legacy${String(i).padStart(16, '0')}`;
      // Records without the authAt field.
      legacy.push(handle, `${now + i}|${now + 3_600_000}|1800000|${now}|hash|`);
    }
    await raw.hset('sec:sess:{u:old}', ...legacy);
    await sessions.create('old');
    expect(await raw.hlen('sec:sess:{u:old}')).toBe(50);
    expect((await sessions.listForUser('old')).map((s) => s.authenticatedAt.getTime())).toContain(now);
    await sessions.close();
  });

  it('reads a record without the authAt field as authenticated at login', async () => {
    const sessions = manager({ redis: guard });
    const created = await sessions.create('pia', { metadata: { device: 'phone' } });
    const handle = created.sessionId.slice('pia.'.length);
    const record = (await raw.hget('sec:sess:{u:pia}', handle))!;
    const fields = record.split('|');
    const createdAt = Number(fields[3]);
    // Drop the authAt field.
    const old = [...fields.slice(0, 5), fields.slice(6).join('|')].join('|');
    expect(old).toMatch(/^\d+\|\d+\|\d+\|\d+\|[\w-]+\|\{"device":"phone"\}$/);
    await raw.hset('sec:sess:{u:pia}', handle, old);
    await expect(sessions.verifyRequestToken(created.accessToken)).resolves.toMatchObject({
      authenticatedAt: new Date(createdAt),
    });
    expect(await sessions.get(created.sessionId)).toMatchObject({ metadata: { device: 'phone' } });
    expect(await sessions.markReauthenticated(created.sessionId)).toBe(true);
    expect((await raw.hget('sec:sess:{u:pia}', handle))!.split('|')).toHaveLength(7);
    expect(await sessions.get(created.sessionId)).toMatchObject({ metadata: { device: 'phone' } });
    await sessions.close();
  });
});
