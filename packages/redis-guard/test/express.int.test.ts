import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { captureLogger, type RedisServer, refuseWrites, startRedis } from '@sec/testing';
import express5, { type RequestHandler } from 'express';
import express4 from 'express4';
import {
  ConfigurationError,
  createRedisGuard,
  type RedisGuard,
  SecError,
  secErrorHandler,
} from '../src/index.js';

type Express = ReturnType<typeof express5>;

// An app's own code, declared the way every package declares its codes.
declare module '../src/index.js' {
  interface SecErrorCodes {
    ERR_SEC_EXAMPLE: true;
  }
}

async function listen(app: Express): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let redis: RedisServer;
let guard: RedisGuard;

beforeAll(async () => {
  // Express's own handler logs every error's stack with console.error in production.
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  redis = await startRedis();
  guard = createRedisGuard({
    config: { url: redis.url },
    environment: 'test',
    logger: captureLogger().logger,
  });
  await guard.ready();
});
afterAll(async () => {
  jest.restoreAllMocks();
  await guard?.close();
  await redis?.stop();
});

/**
 * The routes of the README, written the way it tells Express 4 users to: the rejection goes to
 * next(err). A route that rejects on Express 4 without that would leave the request hanging and
 * the rejection unhandled (which ends a Node process by default).
 */
function routes(app: Express, withHandler: boolean): Express {
  // Express's own handler prints the stack outside production.
  app.set('env', 'production');
  app.get('/visits', (_req, res, next) => {
    guard.execute((c) => c.incr('visits')).then((visits) => res.json({ visits }), next);
  });
  // The other safe shape: an async handler that catches what it awaits.
  app.post('/visits', async (_req, res, next) => {
    try {
      res.json({ visits: await guard.execute((c) => c.incr('visits')) });
    } catch (error) {
      next(error);
    }
  });
  app.get('/alive', (_req, res) => {
    res.json({ alive: true });
  });
  app.get('/bad-argument', (_req, _res, next) => {
    next(new SecError('ERR_SEC_EXAMPLE', 'the id is malformed', { status: 400 }));
  });
  app.get('/unauthenticated', (_req, _res, next) => {
    next(
      new SecError('ERR_SEC_EXAMPLE', 'token rejected (signature)', {
        status: 401,
        expose: false,
        headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      }),
    );
  });
  app.get('/misconfigured', (_req, _res, next) => {
    next(new ConfigurationError('ERR_SEC_EXAMPLE', 'REDIS_URL names a secret host', 'REDIS_URL'));
  });
  app.get('/bug', (_req, _res, next) => {
    next(new Error('a bug'));
  });
  if (withHandler) app.use(secErrorHandler());
  return app;
}

describe.each([
  ['Express 4', express4],
  ['Express 5', express5],
] as const)('%s', (_name, express) => {
  let plain: { server: Server; url: string };
  let handled: { server: Server; url: string };

  beforeAll(async () => {
    plain = await listen(routes(express(), false));
    handled = await listen(routes(express(), true));
  });
  afterAll(() => {
    plain?.server.close();
    handled?.server.close();
  });

  it('a guard error that reaches Express’s own handler is a 503 with Retry-After, and the app stays up', async () => {
    const restore = await refuseWrites(redis, 'OOM');
    try {
      for (let i = 0; i < 3; i++) {
        for (const method of ['GET', 'POST']) {
          const response = await fetch(`${plain.url}/visits`, { method });
          expect(response.status).toBe(503);
          expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expect(await response.text()).not.toMatch(/OOM|maxmemory/);
        }
      }
    } finally {
      await restore();
    }
    expect((await fetch(`${plain.url}/alive`)).status).toBe(200);
    expect(await (await fetch(`${plain.url}/visits`)).json()).toEqual({ visits: expect.any(Number) });
  });

  it('secErrorHandler() answers it with the shared JSON body', async () => {
    const restore = await refuseWrites(redis, 'NOREPLICAS');
    try {
      const response = await fetch(`${handled.url}/visits`);
      expect(response.status).toBe(503);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(await response.json()).toEqual({
        error: 'service_unavailable',
        service: 'redis',
        message: `redis is temporarily unavailable; retry after ${retryAfter} s`,
        retry_after: retryAfter,
      });
    } finally {
      await restore();
    }
    expect((await fetch(`${handled.url}/alive`)).status).toBe(200);
  });

  it('argument errors are 4xx (message only when exposable); configuration errors and bugs pass on as 500', async () => {
    const bad = await fetch(`${handled.url}/bad-argument`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'invalid_request', message: 'the id is malformed' });

    const unauthenticated = await fetch(`${handled.url}/unauthenticated`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await unauthenticated.json()).toEqual({ error: 'invalid_token' });

    for (const path of ['/misconfigured', '/bug']) {
      const response = await fetch(`${handled.url}${path}`);
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('secret host');
    }
    // Without the handler, Express’s own handler reads the same status.
    expect((await fetch(`${plain.url}/bad-argument`)).status).toBe(400);
    expect((await fetch(`${plain.url}/unauthenticated`)).headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token"',
    );
  });
});

describe('Express 5 with an async route that simply awaits', () => {
  it('answers a rejection with the error’s 503 and Retry-After', async () => {
    const app = express5();
    const route: RequestHandler = async (_req, res) => {
      res.json({ stored: await guard.execute((c) => c.set('k', 'v')) });
    };
    app.get('/store', route);
    const http = await listen(app);
    const restore = await refuseWrites(redis, 'MISCONF');
    try {
      const response = await fetch(`${http.url}/store`);
      expect(response.status).toBe(503);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await restore();
      http.server.close();
    }
  });
});
