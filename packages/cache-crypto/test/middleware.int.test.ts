import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis, waitFor } from '@sec/testing';
import express, { type Request } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { cacheResponse, createEncryptedCache, type EncryptedCache, Fernet } from '../src/index.js';

const KEY = Fernet.generateKey();

/** What @sec/session's authenticate() attaches. */
type Authenticated = Request & { auth?: { userId: string; sessionId: string } };

describe('cacheResponse on a real Redis', () => {
  let server: RedisServer;
  let raw: Redis;
  let guard: RedisGuard;
  let cache: EncryptedCache;
  let app: express.Express;
  const log = captureLogger();
  const calls: Record<string, number> = {};
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
    return calls[name];
  };
  const entries = async () => raw.keys('sec:cache:http:*');
  const stored = async (n: number) =>
    waitFor(`${n} cache entries`, async () => (await entries()).length === n, 3_000);

  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis({ port: server.port });
    guard = createRedisGuard({
      config: { url: server.url },
      environment: 'test',
      logger: log.logger,
    });
    await guard.ready();
    cache = createEncryptedCache({ redis: guard, keys: KEY, namespace: 'http' });
    const auth = (req: Request, _res: express.Response, next: express.NextFunction) => {
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      if (token) Object.assign(req, { auth: { userId: token, sessionId: `${token}.s1` } });
      next();
    };
    app = express();
    app.use(auth);
    const cached = cacheResponse({ cache, ttlMs: 60_000 });
    app.get('/products', cached, (req, res) => {
      res.json({ products: ['tea', 'cake'], q: req.query.q ?? null, call: count(`products${req.url}`) });
    });
    app.post('/products', cached, (_req, res) => {
      res.json({ created: count('post') });
    });
    app.get('/missing', cached, (_req, res) => {
      res.status(404).json({ error: 'not found', call: count('missing') });
    });
    app.get('/no-store', cached, (_req, res) => {
      res.set('Cache-Control', 'no-store').json({ call: count('no-store') });
    });
    app.get('/private', cached, (_req, res) => {
      res.set('Cache-Control', 'private, max-age=60').json({ call: count('private') });
    });
    app.get('/cookie', cached, (_req, res) => {
      res.cookie('sid', 'abc').json({ call: count('cookie') });
    });
    app.get('/text', cached, (_req, res) => {
      res.send(`plain ${count('text')}`);
    });
    app.get('/vary', cached, (_req, res) => {
      res.set('Vary', 'Accept-Language').json({ call: count('vary') });
    });
    app.get(
      '/me',
      cacheResponse({ cache, varyByUser: (req) => (req as Authenticated).auth?.userId }),
      (req, res) => {
        const user = (req as Authenticated).auth?.userId ?? 'anonymous';
        res.json({ user, call: count(`me-${user}`) });
      },
    );
    // A varyByUser reading a JWT-style `sub` where the session has `userId`: it names no user.
    const wrongField = (req: Request) => (req as Request & { auth?: { sub?: string } }).auth?.sub;
    app.get('/me-wrong', cacheResponse({ cache, varyByUser: wrongField }), (_req, res) => {
      res.json({ call: count('me-wrong') });
    });
  });
  afterAll(async () => {
    raw?.disconnect();
    await guard?.close();
    await server?.stop();
  });

  it('answers MISS, stores the JSON body encrypted, then answers HIT with the same body', async () => {
    const first = await request(app).get('/products?q=green');
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    await stored(1);
    const second = await request(app).get('/products?q=green');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers['content-type']).toMatch(/application\/json/);
    expect(second.body).toEqual(first.body);
    expect(calls['products/products?q=green']).toBe(1);
    const [name] = await entries();
    expect(name).not.toContain('green');
    expect(await raw.get(name!)).not.toContain('tea');
    expect(await raw.pttl(name!)).toBeLessThanOrEqual(60_000);
    const other = await request(app).get('/products?q=black');
    expect(other.headers['x-cache']).toBe('MISS');
    await raw.flushdb();
  });

  it('bypasses non-GET requests and requests with Cache-Control: no-store', async () => {
    const post = await request(app).post('/products');
    expect(post.headers['x-cache']).toBe('BYPASS');
    await request(app).get('/products?q=ns').set('Cache-Control', 'no-store').expect('X-Cache', 'BYPASS');
    await new Promise((r) => setTimeout(r, 100));
    expect(await entries()).toHaveLength(0);
  });

  it('refreshes on request Cache-Control: no-cache instead of serving the entry', async () => {
    await request(app).get('/products?q=nc').expect('X-Cache', 'MISS');
    await stored(1);
    const refreshed = await request(app).get('/products?q=nc').set('Cache-Control', 'no-cache');
    expect(refreshed.headers['x-cache']).toBe('MISS');
    expect(refreshed.body.call).toBe(2);
    await waitFor(
      'the refreshed entry',
      async () => (await request(app).get('/products?q=nc')).body.call === 2,
      3_000,
    );
    await raw.flushdb();
  });

  it('never stores non-200s, no-store or private responses, cookies, non-JSON bodies or foreign Vary', async () => {
    for (const path of ['/missing', '/no-store', '/private', '/cookie', '/text', '/vary']) {
      const first = await request(app).get(path);
      expect(first.headers['x-cache']).toBe('MISS');
      const second = await request(app).get(path);
      expect(second.headers['x-cache']).toBe('MISS');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(await entries()).toHaveLength(0);
    expect(calls.missing).toBe(2);
    expect(calls.cookie).toBe(2);
  });

  it('never caches authenticated requests without varyByUser', async () => {
    await request(app)
      .get('/products?q=auth')
      .set('Authorization', 'Bearer alice')
      .expect('X-Cache', 'BYPASS');
    await request(app).get('/products?q=auth').set('Cookie', 'sid=1').expect('X-Cache', 'BYPASS');
    await new Promise((r) => setTimeout(r, 100));
    expect(await entries()).toHaveLength(0);
  });

  it("with varyByUser, keeps each user's responses apart", async () => {
    await request(app).get('/me').set('Authorization', 'Bearer alice').expect('X-Cache', 'MISS');
    await stored(1);
    const bob = await request(app).get('/me').set('Authorization', 'Bearer bob');
    expect(bob.headers['x-cache']).toBe('MISS');
    expect(bob.body.user).toBe('bob');
    await stored(2);
    const alice = await request(app).get('/me').set('Authorization', 'Bearer alice');
    expect(alice.headers['x-cache']).toBe('HIT');
    expect(alice.body).toEqual({ user: 'alice', call: 1 });
    const anonymous = await request(app).get('/me');
    expect(anonymous.body.user).toBe('anonymous');
    for (const name of await entries()) expect(name).not.toMatch(/alice|bob/);
    await raw.flushdb();
  });

  it('a varyByUser that names no user for an identified request bypasses, and says so once', async () => {
    for (let i = 0; i < 3; i++) {
      await request(app).get('/me-wrong').set('Authorization', 'Bearer carol').expect('X-Cache', 'BYPASS');
    }
    const warnings = log.messages('warn').filter((m) => m.includes('varyByUser returned no user id'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/req\.auth\?\.userId/);
    // An anonymous request with a cookie is no reason to warn: it has no identity to vary by.
    await request(app).get('/products?q=cookie').set('Cookie', 'theme=dark').expect('X-Cache', 'BYPASS');
    expect(log.messages('warn').filter((m) => m.includes('varyByUser'))).toHaveLength(1);
  });

  it('validates its options at creation', () => {
    expect(() => cacheResponse({ cache, tllMs: 5 } as never)).toThrow(/did you mean "ttlMs"/);
    expect(() => cacheResponse({ cache, ttl: 60 } as never)).toThrow(/did you mean "ttlMs"/);
    expect(() => cacheResponse({} as never)).toThrow(
      expect.objectContaining({
        name: 'OptionError',
        option: 'cache',
        message: expect.stringMatching(/is required/),
      }),
    );
  });
});

describe('cacheResponse while Redis is down', () => {
  it('serves fresh responses (MISS) instead of failing', async () => {
    const server = await startRedis();
    const testGuard = createRedisGuard({
      config: { url: server.url },
      environment: 'test',
      logger: captureLogger().logger,
      commandTimeoutMs: 200,
    });
    try {
      await testGuard.ready();
      const cache = createEncryptedCache({
        redis: testGuard,
        keys: KEY,
        namespace: 'down',
        logger: captureLogger().logger,
      });
      const app = express();
      let calls = 0;
      app.get('/x', cacheResponse({ cache }), (_req, res) => {
        res.json({ call: ++calls });
      });
      await server.kill();
      const res = await request(app).get('/x');
      expect(res.status).toBe(200);
      expect(res.headers['x-cache']).toBe('MISS');
      expect((await request(app).get('/x')).body.call).toBe(2);
    } finally {
      await testGuard.close();
      await server.stop();
    }
  });
});
