import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard, type SecEvent } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis, waitFor } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { type SessionEvent, type SessionManager, sessionRouter } from '../src/index.js';
import { appFor, bearer, decodePayload, manager } from './helpers.js';

/** Two "workers": each has its own ioredis connection, guard and manager, sharing only the redis-server. */
describe('sessions on a real redis-server', () => {
  let redis: RedisServer;
  let raw: Redis;
  let guardA: RedisGuard;
  let guardB: RedisGuard;
  let workerA: SessionManager;
  let workerB: SessionManager;
  const log = captureLogger();
  const reported: SecEvent[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis({ port: redis.port, lazyConnect: true });
    await raw.connect();
    guardA = createRedisGuard({
      config: { url: redis.url },
      environment: 'test',
      logger: log.logger,
      name: 'worker-a',
    });
    guardB = createRedisGuard({
      config: { url: redis.url },
      environment: 'test',
      logger: log.logger,
      name: 'worker-b',
    });
    await Promise.all([guardA.ready(), guardB.ready()]);
    guardA.observe((e) => reported.push(e));
    guardB.observe((e) => reported.push(e));
    workerA = manager({ redis: guardA, logger: log.logger });
    workerB = manager({ redis: guardB, logger: log.logger });
  });
  afterAll(async () => {
    await Promise.all([workerA?.close(), workerB?.close()]);
    await Promise.all([guardA?.close(), guardB?.close()]);
    raw?.disconnect();
    await redis?.stop();
  });

  it('creates, reads, touches, lists and revokes sessions in Redis', async () => {
    const one = await workerA.create('alice', { roles: ['admin', 'user'], metadata: { ua: 'test' } });
    const two = await workerA.create('alice');
    const info = await workerB.get(one.sessionId);
    expect(info).toMatchObject({ userId: 'alice', roles: ['admin', 'user'], metadata: { ua: 'test' } });
    expect(info!.expiresAt).toEqual(one.expiresAt);
    expect((await workerB.listForUser('alice')).map((s) => s.sessionId)).toEqual([
      one.sessionId,
      two.sessionId,
    ]);
    expect(await workerB.touch(two.sessionId)).toBe(true);
    expect(await workerA.get(two.sessionId)).toMatchObject({
      userId: 'alice',
      expiresAt: two.expiresAt,
      metadata: {},
    });
    expect(await workerB.revoke(one.sessionId)).toBe(true);
    expect(await workerA.get(one.sessionId)).toBeUndefined();
    expect(await workerA.revokeAllForUser('alice')).toBe(1);
    expect(await workerA.listForUser('alice')).toEqual([]);
    expect(await workerA.touch(two.sessionId)).toBe(false);
    expect(reported).toContainEqual({ type: 'session.revoked', scope: 'session', count: 1 });
    expect(reported).toContainEqual({ type: 'session.revoked', scope: 'user', count: 1 });
  });

  it('a revoke on another worker makes the very next request here a 401', async () => {
    const app = appFor(workerA);
    const { accessToken, sessionId } = await workerA.create('bob', { roles: ['user'] });
    expect((await request(app).get('/me').set(bearer(accessToken))).status).toBe(200);
    await workerB.revoke(sessionId);
    const next = await request(app).get('/me').set(bearer(accessToken));
    expect(next.status).toBe(401);
    expect(next.body).toEqual({ error: 'invalid_token' });
  });

  it('revokeAllForUser on another worker refuses every token of the user at once', async () => {
    const app = appFor(workerA);
    const tokens = await Promise.all(Array.from({ length: 5 }, () => workerA.create('carol')));
    const other = await workerA.create('dave');
    expect(await workerB.revokeAllForUser('carol')).toBe(5);
    for (const { accessToken } of tokens)
      expect((await request(app).get('/me').set(bearer(accessToken))).status).toBe(401);
    expect((await request(app).get('/me').set(bearer(other.accessToken))).status).toBe(200);
  });

  it('sign-out-others (DELETE /sessions/others) ends every other session of the user, on every worker', async () => {
    const router = express().use('/auth', sessionRouter(workerA, { verifyCredentials: () => null }));
    const other = appFor(workerB);
    const [laptop, phone, tablet] = [
      await workerA.create('kim'),
      await workerA.create('kim'),
      await workerA.create('kim'),
    ];
    const bystander = await workerA.create('lee');
    const events: SessionEvent[] = [];
    const stop = workerB.onEvent((e) => events.push(e));
    await waitFor('subscriber', async () => (await raw.pubsub('NUMSUB', 'sec:session:events'))[1] === 1);
    const response = await request(router).delete('/auth/sessions/others').set(bearer(phone.accessToken));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ revoked: 2 });
    for (const [session, status] of [
      [laptop, 401],
      [phone, 200],
      [tablet, 401],
      [bystander, 200],
    ] as const) {
      expect((await request(other).get('/me').set(bearer(session.accessToken))).status).toBe(status);
    }
    expect((await workerB.listForUser('kim')).map((s) => s.sessionId)).toEqual([phone.sessionId]);
    expect(
      (await request(router).delete('/auth/sessions/others').set(bearer(phone.accessToken))).body,
    ).toEqual({
      revoked: 0,
    });
    await waitFor('the audit event', async () => events.some((e) => e.type === 'revoke_others'));
    stop();
    expect(events.find((e) => e.type === 'revoke_others')).toMatchObject({
      userId: 'kim',
      sessionId: phone.sessionId,
      count: 2,
    });
  });

  it('updateUser on another worker demotes the user on the next request', async () => {
    const app = appFor(workerA);
    const { accessToken } = await workerA.create('erin', { roles: ['admin'] });
    expect((await request(app).get('/admin').set(bearer(accessToken))).status).toBe(200);
    await workerB.updateUser('erin', { roles: ['user'] });
    expect((await request(app).get('/admin').set(bearer(accessToken))).status).toBe(403);
    expect((await request(app).get('/me').set(bearer(accessToken))).body.roles).toEqual(['user']);
  });

  it('slides the idle expiry on requests, writing at most once per touchIntervalMs', async () => {
    let clock = Date.now();
    const timed = manager({
      redis: guardA,
      logger: log.logger,
      now: () => clock,
      idleTimeoutMs: 600_000,
      touchIntervalMs: 60_000,
    });
    const { accessToken, sessionId } = await timed.create('ivan');
    const handle = sessionId.slice('ivan.'.length);
    const lastSeen = async () => Number((await raw.hget('sec:sess:{u:ivan}', handle))!.split('|')[0]);
    const start = await lastSeen();
    clock += 30_000;
    await timed.verifyRequestToken(accessToken);
    expect(await lastSeen()).toBe(start);
    clock += 60_000;
    await timed.verifyRequestToken(accessToken);
    expect(await lastSeen()).toBe(clock);
    clock += 9 * 60_000;
    await timed.verifyRequestToken(accessToken); // 9 min idle: still alive thanks to the slide
    clock += 10 * 60_000 + 1;
    await expect(timed.verifyRequestToken(accessToken)).rejects.toMatchObject({ reason: 'unknown_session' });
    expect(await raw.hexists('sec:sess:{u:ivan}', handle)).toBe(0);
    await timed.close();
  });

  it('a touch racing a revoke never brings the session back', async () => {
    // A clock that jumps past touchIntervalMs on every read makes every touch a write: the worst case.
    let tick = Date.now();
    const racer = manager({ redis: guardA, now: () => (tick += 61_000) });
    for (let round = 0; round < 40; round++) {
      const { accessToken, sessionId } = await racer.create('racer');
      await Promise.all([
        racer.touch(sessionId),
        workerB.revoke(sessionId),
        racer.touch(sessionId),
        racer.verifyRequestToken(accessToken).catch(() => undefined),
        racer.touch(sessionId),
      ]);
      expect(await workerA.get(sessionId)).toBeUndefined();
      await expect(racer.verifyRequestToken(accessToken)).rejects.toMatchObject({
        reason: 'unknown_session',
      });
    }
    await racer.close();
  });

  it("keeps a user's keys under one hash tag, with a TTL, and stores neither the token nor its jti", async () => {
    const { accessToken } = await workerA.create('frank.x@example.com', { roles: ['user'] });
    const keys = (await raw.keys('*frank*')).sort();
    expect(keys).toEqual(['sec:sess:{u:frank.x@example.com}', 'sec:user:{u:frank.x@example.com}']);
    for (const key of keys) expect(await raw.pttl(key)).toBeGreaterThan(0);
    const stored = JSON.stringify(await raw.hgetall(keys[0]!));
    const { jti } = decodePayload(accessToken) as { jti: string };
    expect(stored).not.toContain(jti);
    expect(stored).not.toContain(accessToken.split('.')[2]);
  });

  it('revokes all 1,000 sessions of a user (the highest cap) with one command (seen by MONITOR)', async () => {
    const roomy = manager({ redis: guardA, logger: log.logger, maxSessionsPerUser: 1000 });
    const many = [];
    for (let i = 0; i < 1000; i++) many.push(await roomy.create('grace'));
    // Warm the script cache, as in any running service: the first call after a Redis start is EVALSHA + EVAL.
    await workerA.create('warm');
    await workerA.revokeAllForUser('warm');

    const monitor = await raw.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua')
        commands.push(
          String(args[0]).toLowerCase() === 'echo' ? `echo ${args[1]}` : String(args[0]).toLowerCase(),
        );
    });
    await raw.echo('start');
    await waitFor('monitor start', async () => commands.includes('echo start'));
    const count = await workerA.revokeAllForUser('grace');
    await raw.echo('end');
    await waitFor('monitor end', async () => commands.includes('echo end'));
    monitor.disconnect();

    expect(count).toBe(1000);
    const between = commands.slice(commands.indexOf('echo start') + 1, commands.indexOf('echo end'));
    expect(between).toEqual(['evalsha']);
    expect(await raw.exists('sec:sess:{u:grace}')).toBe(0);
    const app = appFor(workerB);
    for (const { accessToken } of [many[0]!, many[500]!, many[999]!]) {
      expect((await request(app).get('/me').set(bearer(accessToken))).status).toBe(401);
    }
    await roomy.close();
  });

  it('rotates keys: new tokens use the first key, tokens of a retired key still verify until it is dropped', async () => {
    const [oldKey, newKey] = [
      { kid: 'old', secret: randomBytes(32) },
      { kid: 'new', secret: randomBytes(32) },
    ];
    const before = manager({ redis: guardA, signingKeys: [oldKey] });
    const during = manager({ redis: guardB, signingKeys: [newKey, oldKey] });
    const after = manager({ redis: guardB, signingKeys: [newKey] });
    const { accessToken: oldToken } = await before.create('judy');
    const { accessToken: newToken } = await during.create('judy');
    expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe('new');
    await expect(during.verifyRequestToken(oldToken)).resolves.toMatchObject({ userId: 'judy' });
    await expect(before.verifyRequestToken(newToken)).rejects.toMatchObject({ reason: 'unknown_kid' });
    await expect(after.verifyRequestToken(oldToken)).rejects.toMatchObject({ reason: 'unknown_kid' });
    await expect(after.verifyRequestToken(newToken)).resolves.toMatchObject({ userId: 'judy' });
  });

  it('publishes audit events that another worker receives over Pub/Sub', async () => {
    const events: SessionEvent[] = [];
    const stop = workerB.onEvent((e) => events.push(e));
    await waitFor('subscriber', async () => (await raw.pubsub('NUMSUB', 'sec:session:events'))[1] === 1);
    const { sessionId } = await workerA.create('heidi', { roles: ['user'] });
    await workerA.updateUser('heidi', { roles: ['admin'] });
    await workerA.revoke(sessionId);
    await workerA.create('heidi');
    await workerA.revokeAllForUser('heidi');
    await waitFor('five events', async () => events.length >= 5);
    stop();
    expect(events.map((e) => e.type)).toEqual(['login', 'roles_changed', 'revoke', 'login', 'revoke_all']);
    expect(events[1]).toMatchObject({ userId: 'heidi', roles: ['admin'] });
    expect(events[4]).toMatchObject({ userId: 'heidi', count: 1 });
    for (const event of events) expect(event.origin).toMatch(/:\d+:/);
  });

  it('logs audit events as structured records', () => {
    const audit = log.records
      .map((r) => r.obj as { event?: string; type?: string })
      .filter((o) => o.event === 'session.audit');
    expect(new Set(audit.map((o) => o.type))).toEqual(
      new Set(['login', 'revoke', 'revoke_all', 'revoke_others', 'roles_changed']),
    );
  });
});
