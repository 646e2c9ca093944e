import { afterAll, describe, expect, it } from '@jest/globals';
import { captureLogger } from '@sec/testing';
import request from 'supertest';
import { createSessionManager, SessionArgumentError, type SessionEvent } from '../src/index.js';
import { AUDIENCE, appFor, bearer, decodePayload, ISSUER, KEYS, manager, memoryGuard } from './helpers.js';

describe('memory mode (test environment, no Redis)', () => {
  const log = captureLogger();
  let clock = Date.parse('2025-06-01T12:00:00Z');
  const sessions = manager({
    redis: memoryGuard(log.logger),
    logger: log.logger,
    now: () => clock,
    idleTimeoutMs: 600_000,
    absoluteTimeoutMs: 3_600_000,
  });
  const app = appFor(sessions);
  afterAll(() => sessions.close());

  it('runs without Redis when none is configured in test', () => {
    expect(sessions.mode).toBe('memory');
    expect(sessions.guard.client).toBeUndefined();
  });

  it('issues a token carrying only sub, sid and the standard claims', async () => {
    const created = await sessions.create('alice', { roles: ['admin'] });
    const payload = decodePayload(created.accessToken);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
    expect(payload).toMatchObject({ sub: 'alice', sid: created.sessionId, iss: ISSUER, aud: AUDIENCE });
    expect(created.sessionId).toMatch(/^alice\.[A-Za-z0-9_-]{22}$/);
    expect(created.expiresAt.getTime()).toBe(clock + 3_600_000);
  });

  it('authenticates, then refuses after revoke', async () => {
    const { accessToken, sessionId } = await sessions.create('bob', { roles: ['user'] });
    const ok = await request(app).get('/me').set(bearer(accessToken));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      userId: 'bob',
      sessionId,
      roles: ['user'],
      authenticatedAt: new Date(clock).toISOString(),
    });
    expect(await sessions.revoke(sessionId)).toBe(true);
    expect(await sessions.revoke(sessionId)).toBe(false);
    const refused = await request(app).get('/me').set(bearer(accessToken));
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
  });

  it('get, list, touch and revokeAll', async () => {
    const a = await sessions.create('carol', { metadata: { device: 'phone' } });
    clock += 1000;
    const b = await sessions.create('carol');
    expect(await sessions.get(a.sessionId)).toMatchObject({
      userId: 'carol',
      metadata: { device: 'phone' },
      roles: [],
    });
    expect((await sessions.listForUser('carol')).map((s) => s.sessionId)).toEqual([a.sessionId, b.sessionId]);
    clock += 5 * 60_000;
    expect(await sessions.touch(a.sessionId)).toBe(true);
    expect((await sessions.get(a.sessionId))?.lastSeenAt.getTime()).toBe(clock);
    const touchedAt = clock;
    clock += 30_000; // within touchIntervalMs: alive, but no write
    expect(await sessions.touch(a.sessionId)).toBe(true);
    expect((await sessions.get(a.sessionId))?.lastSeenAt.getTime()).toBe(touchedAt);
    expect(await sessions.revokeAllForUser('carol')).toBe(2);
    expect(await sessions.listForUser('carol')).toEqual([]);
    expect(await sessions.touch(a.sessionId)).toBe(false);
  });

  it('expires idle sessions, and active ones at the absolute timeout', async () => {
    const idle = await sessions.create('dave');
    const active = await sessions.create('dave');
    for (let i = 0; i < 6; i++) {
      clock += 9 * 60_000;
      expect((await request(app).get('/me').set(bearer(active.accessToken))).status).toBe(200);
    }
    expect(await sessions.get(idle.sessionId)).toBeUndefined();
    clock += 9 * 60_000; // 63 min after login: past the absolute hour, however active
    expect((await request(app).get('/me').set(bearer(active.accessToken))).status).toBe(401);
  });

  it('re-checks exp on every request, also for a token it has verified before', async () => {
    const { accessToken } = await sessions.create('dora');
    await sessions.verifyRequestToken(accessToken);
    clock += 3_600_000 + 5_000; // the token's exp plus the clock tolerance
    await expect(sessions.verifyRequestToken(accessToken)).rejects.toMatchObject({ reason: 'expired' });
  });

  it('updateUser changes roles on the very next request', async () => {
    const { accessToken } = await sessions.create('erin', { roles: ['admin'] });
    expect((await request(app).get('/admin').set(bearer(accessToken))).status).toBe(200);
    await sessions.updateUser('erin', { roles: ['user'] });
    const demoted = await request(app).get('/admin').set(bearer(accessToken));
    expect(demoted.status).toBe(403);
    expect(demoted.body).toEqual({ error: 'forbidden' });
    const again = await sessions.create('erin');
    expect((await sessions.get(again.sessionId))?.roles).toEqual(['user']);
  });

  it('delivers audit events to listeners in this process and logs them', async () => {
    const events: SessionEvent[] = [];
    const stop = sessions.onEvent((e) => events.push(e));
    const { sessionId } = await sessions.create('frank');
    await sessions.revoke(sessionId);
    await sessions.updateUser('frank', { roles: ['x'] });
    await sessions.create('frank');
    await sessions.revokeAllForUser('frank');
    await sessions.recordLoginFailure({ ip: '10.0.0.1', user: 'frank' });
    stop();
    expect(events.map((e) => e.type)).toEqual([
      'login',
      'revoke',
      'roles_changed',
      'login',
      'revoke_all',
      'login_failed',
    ]);
    expect(events[4]).toMatchObject({ userId: 'frank', count: 1 });
    expect(events[5]).toMatchObject({ ip: '10.0.0.1' });
    expect(JSON.stringify(events[5])).not.toContain('frank');
    const audit = log.records.filter((r) => (r.obj as { event?: string }).event === 'session.audit');
    expect(audit.map((r) => (r.obj as { type: string }).type)).toEqual(
      expect.arrayContaining(['login', 'revoke', 'revoke_all', 'roles_changed', 'login_failed']),
    );
  });

  it('rejects malformed arguments with a typed error before touching the store', async () => {
    await expect(sessions.create('bad\nuser')).rejects.toBeInstanceOf(SessionArgumentError);
    await expect(sessions.create('x'.repeat(513))).rejects.toMatchObject({ argument: 'userId' });
    await expect(sessions.create('u', { roles: ['has space'] })).rejects.toMatchObject({
      code: 'ERR_SEC_SESSION_INVALID_ARGUMENT',
    });
    await expect(sessions.create('u', { metadata: { big: 'x'.repeat(5000) } })).rejects.toMatchObject({
      argument: 'metadata',
    });
    await expect(sessions.revoke('nope')).rejects.toMatchObject({ argument: 'sessionId' });
    await expect(sessions.updateUser('u', { roles: 'admin' as never })).rejects.toThrow(/must be array/);
  });

  it('lets requests without a token through when optional, but still refuses bad tokens', async () => {
    const app2 = appFor(sessions);
    app2.get('/maybe', sessions.authenticate({ optional: true }), (req, res) => {
      res.json({ auth: req.auth ?? null });
    });
    expect((await request(app2).get('/maybe')).body).toEqual({ auth: null });
    expect((await request(app2).get('/maybe').set(bearer('a.b.c'))).status).toBe(401);
    const missing = await request(app2).get('/me');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('a development manager built without a redis option runs in memory mode', async () => {
    const previous = { NODE_ENV: process.env.NODE_ENV, REDIS_URL: process.env.REDIS_URL };
    process.env.NODE_ENV = 'test';
    delete process.env.REDIS_URL;
    try {
      const own = createSessionManager({
        signingKeys: KEYS,
        issuer: ISSUER,
        audience: AUDIENCE,
        logger: captureLogger().logger,
      });
      expect(own.mode).toBe('memory');
      const { accessToken } = await own.create('gina');
      expect(await own.verifyRequestToken(accessToken)).toMatchObject({ userId: 'gina' });
      await own.close();
    } finally {
      Object.assign(process.env, previous);
    }
  });
});

describe('clockToleranceMs: the skew allowed between the clocks that issue and verify tokens', () => {
  it.each([
    [undefined, 3_000, 'accepted'],
    [undefined, 6_000, 'refused'],
    [2_000, 3_000, 'refused'],
    [4_000, 3_000, 'accepted'],
  ])(
    'with clockToleranceMs %p, a token issued %p ms ahead of the verifier is %s',
    async (tolerance, ahead, verdict) => {
      const issuedAt = Date.parse('2025-06-01T12:00:00.000Z');
      let clock = issuedAt;
      const sessions = manager({
        redis: memoryGuard(),
        now: () => clock,
        ...(tolerance !== undefined && { clockToleranceMs: tolerance }),
      });
      const { accessToken } = await sessions.create('skewed');
      clock = issuedAt - ahead;
      const result = await sessions.verifyRequestToken(accessToken).then(
        () => 'accepted',
        (error: { reason?: string }) => `refused (${error.reason})`,
      );
      expect(result).toBe(verdict === 'accepted' ? 'accepted' : 'refused (claims)');
      await sessions.close();
    },
  );
});
