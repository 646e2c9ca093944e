import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import {
  captureLogger,
  PRODUCTION_ON_LOOPBACK,
  type RedisServer,
  rawUpgrade,
  startRedis,
} from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import { WebSocket, WebSocketServer } from 'ws';
import { guardUpgrade, type RateLimiter, rateLimit } from '../src/index.js';
import { type Listening, listen, waitUntil } from './helpers.js';

type Outcome =
  | { opened: true }
  | { opened: false; status: number; headers: IncomingMessage['headers']; body: string };

function connect(url: string, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      resolve({ opened: true });
    });
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () =>
        resolve({ opened: false, status: res.statusCode ?? 0, headers: res.headers, body }),
      );
    });
    socket.once('error', reject);
  });
}

interface WsApp {
  readonly url: string;
  readonly connections: () => number;
  readonly listening: Listening;
  readonly wss: WebSocketServer;
}

/** HTTP app + ws server; the WebSocketServer is created after guardUpgrade on purpose. */
async function wsApp(limiter: RateLimiter, trustProxy = false): Promise<WsApp> {
  const app = express();
  app.set('trust proxy', trustProxy ? 'loopback' : false);
  const listening = await listen(app);
  guardUpgrade(listening.server, limiter, { app });
  const wss = new WebSocketServer({ server: listening.server });
  let count = 0;
  wss.on('connection', () => {
    count += 1;
  });
  return { url: listening.url.replace('http', 'ws'), connections: () => count, listening, wss };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
async function track(app: WsApp): Promise<WsApp> {
  cleanups.push(() => {
    for (const client of app.wss.clients) client.terminate();
    app.wss.close();
    return app.listening.close();
  });
  return app;
}

describe('guardUpgrade with the ws client', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  beforeAll(async () => {
    const password = 'upgrade-Int-Password-0123456789abcdefgh';
    redis = await startRedis({ password });
    const client = new Redis({ host: '127.0.0.1', port: redis.port, password });
    client.on('error', () => undefined);
    guard = createRedisGuard({
      client,
      environment: 'production',
      env: PRODUCTION_ON_LOOPBACK,
      logger: captureLogger().logger,
    });
    await guard.ready();
    cleanups.push(
      () => redis.stop(),
      () => client.disconnect(),
    );
  });

  it('lets upgrades through until the limit, then refuses with 429 before the handshake', async () => {
    const app = await track(
      await wsApp(rateLimit({ redis: guard, name: 'ws', points: 2, windowMs: 60_000 })),
    );
    expect(await connect(app.url)).toEqual({ opened: true });
    expect(await connect(app.url)).toEqual({ opened: true });
    const refused = await connect(app.url);
    expect(refused).toMatchObject({ opened: false, status: 429 });
    if (refused.opened) return;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(58);
    expect(refused.headers['ratelimit-policy']).toBe('"ws";q=2;w=60');
    expect(refused.headers.ratelimit).toMatch(/^"ws";r=0;t=\d+$/);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'too_many_requests', limiter: 'ws' });
    expect(app.connections()).toBe(2);
  });

  it('keys upgrades by the app’s trust-proxy client address', async () => {
    const app = await track(await wsApp(rateLimit({ redis: guard, name: 'ws-proxied', points: 1 }), true));
    expect(await connect(app.url, { 'X-Forwarded-For': '203.0.113.1' })).toEqual({ opened: true });
    expect(await connect(app.url, { 'X-Forwarded-For': '203.0.113.1' })).toMatchObject({ status: 429 });
    expect(await connect(app.url, { 'X-Forwarded-For': '203.0.113.2' })).toEqual({ opened: true });
  });

  it('refuses with 503 while Redis is down, and accepts again once it is back', async () => {
    const app = await track(await wsApp(rateLimit({ redis: guard, name: 'ws-outage', points: 100 })));
    expect(await connect(app.url)).toEqual({ opened: true });
    await redis.kill();
    await waitUntil('the client to notice', async () => guard.client!.status !== 'ready');
    const refused = await connect(app.url);
    expect(refused).toMatchObject({ opened: false, status: 503 });
    if (refused.opened) return;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'service_unavailable', service: 'rate-limit' });
    expect(app.connections()).toBe(1);

    await redis.restart();
    await waitUntil('upgrades to be accepted again', async () => (await connect(app.url)).opened);
  });
});

describe('guardUpgrade in memory mode', () => {
  it('limits upgrades without Redis and can be removed', async () => {
    const guard = createRedisGuard({ environment: 'test', mode: 'memory', logger: captureLogger().logger });
    const limiter = rateLimit({ redis: guard, name: 'ws-memory', points: 1, windowMs: 60_000 });
    const listening = await listen(express());
    const wss = new WebSocketServer({ server: listening.server });
    const app = await track({
      url: listening.url.replace('http', 'ws'),
      connections: () => 0,
      listening,
      wss,
    });
    const unguard = guardUpgrade(listening.server, limiter, { keyBy: () => 'one-bucket' });
    expect(await connect(app.url)).toEqual({ opened: true });
    expect(await connect(app.url)).toMatchObject({ status: 429 });
    unguard();
    expect(await connect(app.url)).toEqual({ opened: true });
  });
});

describe('guardUpgrade and a listener that throws', () => {
  it('destroys that socket, logs once, and keeps serving', async () => {
    const log = captureLogger();
    const guard = createRedisGuard({ environment: 'test', mode: 'memory', logger: log.logger });
    const listening = await listen(express().get('/', (_req, res) => void res.send('ok')));
    cleanups.push(() => listening.close());
    guardUpgrade(listening.server, rateLimit({ redis: guard, name: 'ws-throw', points: 100 }));
    listening.server.on('upgrade', (req) => {
      // The classic: new URL() on a target it rejects, outside a try.
      new URL(req.url ?? '/', 'http://localhost');
      throw new Error('unreachable for a parsable target');
    });
    const port = Number(new URL(listening.url).port);
    for (const target of ['//x:99999/ws', '//[/ws', '/ws']) {
      const result = await rawUpgrade(port, { target, reset: { at: 'never' } });
      expect(result).toEqual({ status: 0, closedByServer: true, timedOut: false });
    }
    expect((await fetch(listening.url)).status).toBe(200);
    expect(log.messages('warn').filter((m) => m.includes("'upgrade' listener threw"))).toHaveLength(1);
  });
});
