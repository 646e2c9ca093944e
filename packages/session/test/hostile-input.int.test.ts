import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { type SessionManager, sessionRouter } from '../src/index.js';
import { bearer, listen, manager } from './helpers.js';

/** Login succeeds for any username with password 'pw'; the User-Agent goes into the metadata. */
function appFor(sessions: SessionManager): express.Express {
  const app = express();
  app.use(
    '/auth',
    sessionRouter(sessions, {
      verifyCredentials: (body, req) =>
        body.password === 'pw'
          ? { userId: body.username as string, metadata: { userAgent: req.get('user-agent') } }
          : null,
    }),
  );
  app.get('/me', sessions.authenticate(), (req, res) => {
    res.json(req.auth);
  });
  return app;
}

/** Sends raw bytes and returns the status line's code (or 'closed' when the server hung up). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 'closed'));
    socket.write(text);
  });
}

const ACCEPTED = [
  ['spaces', 'ada lovelace'],
  ['quotes', `o'brien "bob"`],
  ['braces', 'a{b}c'],
  ['a hash tag of another user', '{u:victim}'],
  ['a glob', '*'],
  ['a tilde, like an encoded key', '~dmljdGlt'],
  ['emoji', '🙂🙃'],
  ['non-ASCII e-mail', 'jörg.müller@exämple.de'],
  ['a dot and a plausible handle', 'x.AAAAAAAAAAAAAAAAAAAAAA'],
  ['512 bytes', 'é'.repeat(256)],
] as const;

describe('hostile user ids, metadata and paths never become a 500', () => {
  let redis: RedisServer;
  let client: Redis;
  let guard: RedisGuard;
  let sessions: SessionManager;
  let app: express.Express;
  let http: { server: Server; url: string };
  const log = captureLogger();

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis({ port: redis.port, lazyConnect: true });
    await client.connect();
    guard = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    await guard.ready();
    sessions = manager({ redis: guard, logger: log.logger });
    app = appFor(sessions);
    http = await listen(app);
  });
  afterAll(async () => {
    http?.server.close();
    await sessions?.close();
    await guard?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it.each(ACCEPTED)(
    'a user id with %s logs in, is itself everywhere, and stays in its own keys',
    async (_n, id) => {
      const login = await request(app).post('/auth/login').send({ username: id, password: 'pw' });
      expect(login.status).toBe(201);
      const token = login.body.accessToken as string;
      expect((await request(app).get('/me').set(bearer(token))).body).toMatchObject({ userId: id });
      const listed = await request(app).get('/auth/sessions').set(bearer(token));
      expect(listed.body.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual([
        login.body.sessionId,
      ]);
      expect((await sessions.listForUser(id)).map((s) => s.userId)).toEqual([id]);
      // Exactly one tag per key, so the user's keys share one Cluster slot.
      for (const key of await client.keys('sec:*')) expect(key).toMatch(/^sec:(sess|user):\{u:[^{}]+\}$/);
      expect((await request(app).delete('/auth/sessions').set(bearer(token))).body).toEqual({ revoked: 1 });
      expect((await request(app).get('/me').set(bearer(token))).status).toBe(401);
    },
  );

  it('ids that look alike never share sessions: revoking one leaves the others', async () => {
    const ids = ['{u:victim}', 'victim', '~dmljdGlt', 'victim ', 'Victim'];
    const tokens = await Promise.all(ids.map((id) => sessions.create(id)));
    expect(await sessions.revokeAllForUser('victim')).toBe(1);
    for (const [i, { accessToken }] of tokens.entries()) {
      const answer = await request(app).get('/me').set(bearer(accessToken));
      expect(answer.status).toBe(ids[i] === 'victim' ? 401 : 200);
    }
    // Another user's session id in the path is a 404, never a revocation.
    const fromSibling = await request(app)
      .delete(`/auth/sessions/${encodeURIComponent(tokens[0]!.sessionId)}`)
      .set(bearer(tokens[2]!.accessToken));
    expect(fromSibling.status).toBe(404);
    expect((await request(app).get('/me').set(bearer(tokens[0]!.accessToken))).status).toBe(200);
  });

  it.each([
    ['1,000 characters', 'x'.repeat(1_000)],
    ['a newline', 'eve\nadmin'],
    ['a NUL', 'eve\u0000'],
    ['an unpaired surrogate', 'eve\ud800'],
    ['an empty string', ''],
    ['an object', { $ne: null }],
    ['a number', 42],
  ])('a user id with %s is a 400, never a 500', async (_name, username) => {
    const response = await request(app).post('/auth/login').send({ username, password: 'pw' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request' });
  });

  it('a 10 KiB User-Agent (metadata over 2 KiB) is a 400, never a 500, and is logged once', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await request(app)
        .post('/auth/login')
        .set('user-agent', 'Mozilla/5.0 '.padEnd(10 * 1024, 'x'))
        .send({ username: 'uma', password: 'pw' });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'invalid_request' });
    }
    expect(await client.exists('sec:sess:{u:uma}')).toBe(0);
    expect(log.messages('warn').filter((m) => m.includes('refused with 400: metadata'))).toHaveLength(1);
  });

  it('malformed, oversized and foreign session ids in the path are 400 / 404, never 500', async () => {
    const { accessToken } = await sessions.create('pat');
    for (const [path, status] of [
      ['/auth/sessions/%ZZ', 400],
      [`/auth/sessions/${'a'.repeat(5_000)}`, 404],
      [`/auth/sessions/${encodeURIComponent('~!!!.AAAAAAAAAAAAAAAAAAAAAA')}`, 404],
      [`/auth/sessions/${encodeURIComponent('{u:pat}.AAAAAAAAAAAAAAAAAAAAAA')}`, 404],
    ] as const) {
      expect((await request(app).delete(path).set(bearer(accessToken))).status).toBe(status);
    }
    const port = Number(new URL(http.url).port);
    const sent = `DELETE /auth/sessions/%00%7B HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${accessToken}\r\nConnection: close\r\n\r\n`;
    expect(await raw(port, sent)).toBe('404');
    expect((await request(app).get('/me').set(bearer(accessToken))).status).toBe(200);
  });
});
