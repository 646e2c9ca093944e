import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import { captureLogger } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { InvalidTokenError, type SessionEvent, type SessionManager, sessionRouter } from '../src/index.js';
import { bearer, manager, memoryGuard } from './helpers.js';

const USERS: Record<string, { password: string; roles: string[] }> = {
  alice: { password: 'correct horse', roles: ['admin'] },
  bob: { password: 'battery staple', roles: ['user'] },
};

function mount(sessions: SessionManager) {
  const app = express();
  app.use(
    '/auth',
    sessionRouter(sessions, {
      verifyCredentials: (body) => {
        const { username, password } = (body ?? {}) as { username?: string; password?: string };
        const user = username ? USERS[username] : undefined;
        return user && user.password === password
          ? { userId: username!, roles: user.roles, metadata: { via: 'password' } }
          : null;
      },
    }),
  );
  app.get('/me', sessions.authenticate(), (req, res) => {
    res.json(req.auth);
  });
  return app;
}

const login = (app: express.Express, username: string, password = USERS[username]?.password) =>
  request(app).post('/auth/login').send({ username, password });

describe('sessionRouter with bearer tokens', () => {
  const log = captureLogger();
  const sessions = manager({ redis: memoryGuard(log.logger), logger: log.logger });
  const app = mount(sessions);
  afterAll(() => sessions.close());

  it('logs in with good credentials and refuses bad ones with a login_failed audit event', async () => {
    const events: SessionEvent[] = [];
    const stop = sessions.onEvent((e) => events.push(e));
    const bad = await login(app, 'alice', 'wrong');
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual({ error: 'unauthorized' });
    const good = await login(app, 'alice');
    stop();
    expect(good.status).toBe(201);
    expect(good.headers['cache-control']).toBe('no-store');
    expect(good.body).toEqual({
      sessionId: expect.stringMatching(/^alice\./),
      expiresAt: expect.any(String),
      accessToken: expect.any(String),
      tokenType: 'Bearer',
    });
    expect((await request(app).get('/me').set(bearer(good.body.accessToken))).body).toMatchObject({
      userId: 'alice',
      roles: ['admin'],
    });
    expect(events.map((e) => e.type)).toEqual(['login_failed', 'login']);
    expect(log.text()).not.toContain('wrong');
  });

  it('answers 400 to a body that is not JSON', async () => {
    const response = await request(app)
      .post('/auth/login')
      .set('content-type', 'application/json')
      .send('{"username":');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request' });
  });

  it("lists only the caller's sessions, marking the current one", async () => {
    const first = (await login(app, 'bob')).body;
    const second = (await login(app, 'bob')).body;
    await login(app, 'alice');
    const listed = await request(app).get('/auth/sessions').set(bearer(second.accessToken));
    expect(listed.status).toBe(200);
    expect(
      listed.body.sessions.map((s: { sessionId: string; current: boolean }) => [s.sessionId, s.current]),
    ).toEqual([
      [first.sessionId, false],
      [second.sessionId, true],
    ]);
    expect(listed.body.sessions[0]).toEqual({
      sessionId: first.sessionId,
      createdAt: expect.any(String),
      authenticatedAt: expect.any(String),
      lastSeenAt: expect.any(String),
      expiresAt: expect.any(String),
      idleExpiresAt: expect.any(String),
      metadata: { via: 'password' },
      current: false,
    });
  });

  it("revokes one of the caller's own sessions, and answers 404 for another user's", async () => {
    const mine = (await login(app, 'bob')).body;
    const other = (await login(app, 'bob')).body;
    const alices = (await login(app, 'alice')).body;
    expect(
      (await request(app).delete(`/auth/sessions/${alices.sessionId}`).set(bearer(mine.accessToken))).status,
    ).toBe(404);
    expect((await request(app).delete('/auth/sessions/garbage').set(bearer(mine.accessToken))).status).toBe(
      404,
    );
    expect((await request(app).get('/me').set(bearer(alices.accessToken))).status).toBe(200);
    expect(
      (await request(app).delete(`/auth/sessions/${other.sessionId}`).set(bearer(mine.accessToken))).status,
    ).toBe(204);
    expect((await request(app).get('/me').set(bearer(other.accessToken))).status).toBe(401);
    expect((await request(app).get('/me').set(bearer(mine.accessToken))).status).toBe(200);
  });

  it('logs out the current session, and signs out everywhere', async () => {
    const a = (await login(app, 'alice')).body;
    const b = (await login(app, 'alice')).body;
    expect((await request(app).post('/auth/logout').set(bearer(a.accessToken))).status).toBe(204);
    expect((await request(app).get('/me').set(bearer(a.accessToken))).status).toBe(401);
    expect((await request(app).get('/me').set(bearer(b.accessToken))).status).toBe(200);
    const all = await request(app).delete('/auth/sessions').set(bearer(b.accessToken));
    expect(all.body.revoked).toBeGreaterThanOrEqual(1);
    expect((await request(app).get('/me').set(bearer(b.accessToken))).status).toBe(401);
  });

  it('requires a token on every endpoint but login', async () => {
    for (const [method, path] of [
      ['post', '/auth/logout'],
      ['get', '/auth/sessions'],
      ['delete', '/auth/sessions'],
    ] as const) {
      expect((await request(app)[method](path)).status).toBe(401);
    }
  });

  it('needs verifyCredentials, and a loginLimiter with reserve() and respond()', () => {
    expect(() => sessionRouter(sessions, {} as never)).toThrow(
      expect.objectContaining({ name: 'OptionError', option: 'verifyCredentials' }),
    );
    expect(() =>
      sessionRouter(sessions, { verifyCredentials: async () => undefined, loginLimiter: {} as never }),
    ).toThrow(expect.objectContaining({ option: 'loginLimiter', message: expect.stringMatching(/reserve/) }));
  });
});

describe('cookie mode', () => {
  const sessions = manager({ redis: memoryGuard(), cookie: true });
  const app = mount(sessions);
  afterAll(() => sessions.close());

  it('sets a Secure, HttpOnly, SameSite=Lax cookie and keeps the token out of the body', async () => {
    const response = await login(app, 'alice');
    expect(response.status).toBe(201);
    expect(response.body.accessToken).toBeUndefined();
    const cookie = response.headers['set-cookie']![0]!;
    expect(cookie).toMatch(
      /^__Host-sec_session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Expires=.+; HttpOnly; Secure; SameSite=Lax$/,
    );
    const me = await request(app)
      .get('/me')
      .set('cookie', `other=1; ${cookie.split(';')[0]}`);
    expect(me.body).toMatchObject({ userId: 'alice' });
    // A bad Authorization header is refused outright, not skipped in favour of the cookie.
    expect(
      (await request(app).get('/me').set('cookie', cookie.split(';')[0]!).set(bearer('x.y.z'))).status,
    ).toBe(401);
    const out = await request(app).post('/auth/logout').set('cookie', cookie.split(';')[0]!);
    expect(out.status).toBe(204);
    expect(out.headers['set-cookie']![0]).toMatch(/^__Host-sec_session=; Path=\/; Expires=Thu, 01 Jan 1970/);
    expect((await request(app).get('/me').set('cookie', cookie.split(';')[0]!)).status).toBe(401);
  });

  it('authenticates a WebSocket-style upgrade outside Express with authenticateRequest()', async () => {
    const session = await sessions.create('bob');
    const server = createServer();
    server.on('upgrade', (req, socket) => {
      sessions.authenticateRequest(req).then(
        (auth) =>
          socket.end(
            `HTTP/1.1 101 Switching Protocols\r\nX-User: ${auth.userId}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
          ),
        (error: unknown) =>
          socket.end(
            `HTTP/1.1 ${error instanceof InvalidTokenError ? 401 : 503} No\r\nContent-Length: 0\r\n\r\n`,
          ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const upgrade = (cookie: string) =>
      new Promise<string>((resolve, reject) => {
        const req = httpRequest({
          port,
          host: '127.0.0.1',
          headers: { connection: 'Upgrade', upgrade: 'websocket', cookie },
        });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(`${res.statusCode} ${res.headers['x-user']}`);
        });
        req.on('response', (res) => resolve(String(res.statusCode)));
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await upgrade(`__Host-sec_session=${session.accessToken}`)).toBe('101 bob');
      await sessions.revoke(session.sessionId);
      expect(await upgrade(`__Host-sec_session=${session.accessToken}`)).toBe('401');
      expect(await upgrade('__Host-sec_session=garbage')).toBe('401');
    } finally {
      server.close();
    }
  });
});
