import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { type SessionManager, type SessionManagerOptions, sessionRouter } from '../src/index.js';
import { bearer, listen, liveSocketServer, manager } from './helpers.js';

const TRUSTED = 'https://app.example.com';

/** A cookie-mode app: the router, `/me`, and a state-changing `POST /transfer`. */
function appFor(sessions: SessionManager): express.Express {
  const app = express();
  app.use(
    '/auth',
    sessionRouter(sessions, {
      verifyCredentials: ({ username, password }) =>
        password === 'pw' && typeof username === 'string' ? { userId: username } : null,
    }),
  );
  app.get('/me', sessions.authenticate(), (req, res) => {
    res.json(req.auth);
  });
  app.post('/transfer', sessions.authenticate(), (_req, res) => {
    res.json({ moved: true });
  });
  return app;
}

/** Sends a raw request and resolves with the status code. */
function raw(server: Server, text: string): Promise<number> {
  const port = (server.address() as { port: number }).port;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.write(text);
  });
}

describe('cookie mode: __Host- cookie, one cookie per request, trusted origins for unsafe methods', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  let sessions: SessionManager;
  let http: { server: Server; url: string };
  let host: string;
  const log = captureLogger();
  const make = (extra: Partial<SessionManagerOptions> = {}) =>
    manager({ redis: guard, logger: log.logger, cookie: { trustedOrigins: [TRUSTED] }, ...extra });

  /** Logs in from a page of the server's own host and returns the `name=value` pair of the session cookie. */
  const login = async (user: string, url = http.url) => {
    const response = await request(url)
      .post('/auth/login')
      .set('origin', `http://${new URL(url).host}`)
      .send({ username: user, password: 'pw' });
    expect(response.status).toBe(201);
    return response.headers['set-cookie']![0]!.split(';')[0]!;
  };

  beforeAll(async () => {
    redis = await startRedis();
    guard = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    await guard.ready();
    sessions = make();
    http = await listen(appFor(sessions));
    host = new URL(http.url).host;
  });
  afterAll(async () => {
    http?.server.close();
    await sessions?.close();
    await guard?.close();
    await redis?.stop();
  });

  it('sets a __Host- cookie: Secure, host-only, Path=/', async () => {
    const response = await request(http.url)
      .post('/auth/login')
      .send({ username: 'amy', password: 'pw' })
      .set('origin', `http://${host}`);
    const cookie = response.headers['set-cookie']![0]!;
    expect(cookie).toMatch(
      /^__Host-sec_session=[\w.-]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(cookie).not.toMatch(/Domain=/i);
  });

  it.each<[string, number, Record<string, string>]>([
    ['a page of another site', 403, { origin: 'https://evil.example' }],
    ['Origin: null (sandboxed frame)', 403, { origin: 'null' }],
    ['a sibling subdomain', 403, { origin: 'https://evil.app.example.com' }],
    ['a malformed Origin', 403, { origin: 'http://[' }],
    ['no Origin, Sec-Fetch-Site: cross-site', 403, { 'sec-fetch-site': 'cross-site' }],
    ['no Origin, Sec-Fetch-Site: same-site', 403, { 'sec-fetch-site': 'same-site' }],
    ['no Origin, Sec-Fetch-Site: same-origin', 200, { 'sec-fetch-site': 'same-origin' }],
    ['no Origin, Sec-Fetch-Site: none (typed by the user)', 200, { 'sec-fetch-site': 'none' }],
    ['neither header (not a browser page)', 200, {}],
    ['a trusted origin', 200, { origin: TRUSTED }],
  ])('a cookie-authenticated POST from %s: %i', async (_name, status, headers) => {
    const cookie = await login('ben');
    const response = await request(http.url).post('/transfer').set('cookie', cookie).set(headers);
    expect(response.status).toBe(status);
    if (status === 403) expect(response.body).toEqual({ error: 'cross_origin_request' });
  });

  it('the same host is trusted whatever the page scheme; GETs and Bearer requests are never checked', async () => {
    const cookie = await login('cal');
    const origin = { origin: 'https://evil.example' };
    expect(
      (await request(http.url).post('/transfer').set('cookie', cookie).set('origin', `https://${host}`))
        .status,
    ).toBe(200);
    expect((await request(http.url).get('/me').set('cookie', cookie).set(origin)).status).toBe(200);
    const { accessToken } = await sessions.create('cal');
    expect((await request(http.url).post('/transfer').set(bearer(accessToken)).set(origin)).status).toBe(200);
  });

  it('a forged logout or sign-out-everywhere is refused and takes no effect', async () => {
    const cookie = await login('dee');
    const evil = { origin: 'https://evil.example' };
    expect((await request(http.url).post('/auth/logout').set('cookie', cookie).set(evil)).status).toBe(403);
    expect((await request(http.url).delete('/auth/sessions').set('cookie', cookie).set(evil)).status).toBe(
      403,
    );
    expect(
      (await request(http.url).delete('/auth/sessions/others').set('cookie', cookie).set(evil)).status,
    ).toBe(403);
    expect((await request(http.url).get('/me').set('cookie', cookie)).status).toBe(200);
    expect(await sessions.listForUser('dee')).toHaveLength(1);
  });

  it('a forged cross-site login is refused before any session exists (login CSRF)', async () => {
    const forged = await request(http.url)
      .post('/auth/login')
      .set('origin', 'https://evil.example')
      .send({ username: 'attacker', password: 'pw' });
    expect(forged.status).toBe(403);
    expect(forged.headers['set-cookie']).toBeUndefined();
    expect(await sessions.listForUser('attacker')).toEqual([]);
  });

  it('two session cookies in one request (another path, another domain) are refused, and logged once', async () => {
    const victim = await login('eva');
    const planted = await login('attacker');
    for (const header of [`${planted}; ${victim}`, `${victim}; other=1; ${planted}`]) {
      const response = await request(http.url).get('/me').set('cookie', header);
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: 'invalid_token' });
    }
    await request(http.url).get('/me').set('cookie', `${planted}; ${victim}`);
    const logged = log.records.filter((r) => (r.obj as { reason?: string }).reason === 'ambiguous_cookie');
    expect(logged).toHaveLength(2);
    expect(log.text()).not.toContain(victim.split('=')[1]);
    // Two Cookie header lines on the wire are joined by Node: still two cookies, still refused.
    const status = await raw(
      http.server,
      `GET /me HTTP/1.1\r\nHost: ${host}\r\nCookie: ${victim}\r\nCookie: ${planted}\r\nConnection: close\r\n\r\n`,
    );
    expect(status).toBe(401);
    expect((await request(http.url).get('/me').set('cookie', victim)).body).toMatchObject({ userId: 'eva' });
  });

  it('a WebSocket upgrade carrying the cookie from another origin is refused (cross-site WebSocket hijacking)', async () => {
    const cookie = await login('gio');
    const sockets = await liveSocketServer(sessions);
    try {
      const wsHost = new URL(sockets.url).host;
      await expect(sockets.connect('', { cookie, origin: 'https://evil.example' })).rejects.toThrow(
        'upgrade answered 403',
      );
      await expect(sockets.connect('', { cookie, origin: `http://${wsHost}` })).resolves.toMatchObject({
        ws: expect.anything(),
      });
    } finally {
      await sockets.close();
    }
  });

  it("sameSite 'none' keeps the origin check; originCheck: false (lax only) turns it off", async () => {
    const none = make({ cookie: { sameSite: 'none' } });
    const off = make({ cookie: { originCheck: false } });
    for (const [target, status] of [
      [none, 403],
      [off, 200],
    ] as const) {
      const other = await listen(appFor(target));
      const cookie = await login('fin', other.url);
      const response = await request(other.url)
        .post('/transfer')
        .set('cookie', cookie)
        .set('origin', 'https://evil.example');
      expect(response.status).toBe(status);
      other.server.close();
      await target.close();
    }
  });
});
