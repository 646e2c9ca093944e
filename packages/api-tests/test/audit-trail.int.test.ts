import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createEncryptedCache, Fernet } from '@sec/cache-crypto';
import { rateLimit } from '@sec/rate-limit';
import { assertRedisPosture, createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import {
  type AuditTrail,
  createAuditReader,
  createAuditTrail,
  verifyAuditTrail,
} from '@sec/redis-guard/audit';
import { createSessionManager, type SessionManager, sessionRouter } from '@sec/session';
import {
  captureLogger,
  PRODUCTION_ON_LOOPBACK,
  type RedisClusterHandle,
  redisCli,
  startCluster,
} from '@sec/testing';
import express from 'express';

const PASSWORD = 'audit-Cluster-Password-0123456789-abcdefgh';
const SECRET = 'audit-trail-signing-secret-0123456789-abcdefghijklmnop';
const log = captureLogger();

describe('the audit trail on Redis Cluster, fed by every package', () => {
  let cluster: RedisClusterHandle;
  let guard: RedisGuard;
  let trail: AuditTrail;
  let sessions: SessionManager;
  /** Audited events in the order this process reported them. */
  const reported: string[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, password: PASSWORD });
    guard = createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...cluster.env }, logger: log.logger });
    await guard.ready(10_000);
    const aggregated = new Set<string>();
    guard.observe((event, audit) => {
      if (!audit) return;
      // An aggregated event is written once per key and window (all within one window here).
      if (audit.once && aggregated.has(audit.once.key)) return;
      if (audit.once) aggregated.add(audit.once.key);
      reported.push(`${event.type} ${audit.user ?? '-'}`);
    });
    trail = createAuditTrail(guard);
    sessions = createSessionManager({
      redis: guard,
      signingKeys: [{ kid: 'k1', secret: SECRET }],
      issuer: 'https://auth.test',
      audience: 'test-api',
      logger: log.logger,
    });
  }, 120_000);
  afterAll(async () => {
    await trail?.close();
    await sessions?.close();
    await guard?.close();
    await cluster?.stop();
  });

  it('records posture, session, rate-limit and cache events of several users, in the order they happened', async () => {
    const posture = await assertRedisPosture(guard);
    const warned = posture.results.filter((r) => r.status === 'warn' || r.status === 'refuse');
    const tokens: string[] = [];
    for (const user of ['alice', 'bob', 'carol']) {
      const { sessionId, accessToken } = await sessions.create(user, { roles: ['reader'] });
      tokens.push(accessToken);
      await sessions.markReauthenticated(sessionId);
      await sessions.updateUser(user, { roles: ['reader', 'editor'] });
      await sessions.recordLoginFailure({ user, ip: '198.51.100.7' });
      if (user === 'alice') {
        await sessions.create(user);
        await sessions.revokeOtherSessions(sessionId);
      } else if (user === 'bob') {
        await sessions.revokeAllForUser(user);
      } else {
        await sessions.revoke(sessionId);
      }
    }
    // Through the router: a login and a logout.
    const app = express().use(
      '/auth',
      sessionRouter(sessions, { verifyCredentials: async ({ username }) => ({ userId: String(username) }) }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dave', password: 'correct horse' }),
    });
    expect(login.status).toBe(201);
    const { accessToken: daveToken } = (await login.json()) as { accessToken: string };
    tokens.push(daveToken);
    const logout = await fetch(`${base}/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${daveToken}` },
    });
    expect(logout.status).toBe(204);
    server.close();
    // An attack: 10,000 requests from one address against a limit of 5 a minute.
    const limiter = rateLimit({ redis: guard, name: 'api', points: 5, windowMs: 60_000 });
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(Array.from({ length: 200 }, () => limiter.consumeKey('203.0.113.9')));
    }
    const OLD = Fernet.generateKey();
    const NEW = Fernet.generateKey();
    const before = createEncryptedCache({
      redis: guard,
      keys: [OLD],
      namespace: 'profiles',
      logger: log.logger,
    });
    for (let i = 0; i < 20; i++) await before.set(`user:${i}`, { plan: 'pro' }, { ttlMs: 60_000 });
    const cache = createEncryptedCache({
      redis: guard,
      keys: [NEW, OLD],
      namespace: 'profiles',
      logger: log.logger,
    });
    await cache.rotate();
    await trail.flush();

    const entries = await createAuditReader(guard, { count: 10_000, blockMs: 0 }).read();
    expect(entries.map((e) => `${e.type} ${e.user ?? '-'}`)).toEqual(reported);
    const types = new Set(entries.map((e) => e.type));
    for (const type of [
      'session.login',
      'session.step_up',
      'session.roles_changed',
      'session.login_failed',
      'session.revoke_others',
      'session.revoke_all',
      'session.revoke',
      'session.logout',
      'ratelimit.blocked',
      'cache.key_rotation',
    ]) {
      expect(types).toContain(type);
    }
    expect(warned.length).toBeGreaterThan(0);
    expect(entries.filter((e) => e.type === 'posture.warning').map((e) => e.data.rule)).toEqual(
      expect.arrayContaining(warned.map((r) => r.rule)),
    );
    // The attack added one entry, not 9,995.
    expect(entries.filter((e) => e.type === 'ratelimit.blocked')).toHaveLength(1);
    expect(entries.find((e) => e.type === 'cache.key_rotation')!.data).toMatchObject({
      rotated: 20,
      complete: true,
    });
    // No token, no signing secret, no password, no key, no raw client address in the key field.
    const text = JSON.stringify(entries);
    for (const secret of [PASSWORD, SECRET, OLD, NEW, 'correct horse', ...tokens])
      expect(text).not.toContain(secret);
    expect(entries.filter((e) => e.user === 'dave').map((e) => e.type)).toEqual([
      'session.login',
      'session.revoke',
      'session.logout',
    ]);
    expect(JSON.stringify(entries.filter((e) => e.type === 'ratelimit.blocked'))).not.toContain(
      '203.0.113.9',
    );
    expect(await verifyAuditTrail(guard)).toMatchObject({ ok: true, checked: entries.length, trimmed: 0 });
  }, 120_000);

  it('keeps the stream and its head in one slot, on one master', async () => {
    const master = cluster.masters[0]!;
    const slot = (key: string) => redisCli(master, 'CLUSTER', 'KEYSLOT', key).then((s) => Number(s.trim()));
    const stream = await slot(trail.key);
    expect(await slot('sec:{audit}:head')).toBe(stream);
    expect(await slot('sec:{audit}:once:0123')).toBe(stream);
    expect(await slot('{audit}')).toBe(stream);
    expect(stream).toBe(1463);
  });
});
