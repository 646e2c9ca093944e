import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { captureLogger, median, type RedisServer, startRedis, waitFor } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import {
  createRedisGuard,
  type RedisGuard,
  RedisUnavailableError,
  requireRedis,
  type SecEvent,
} from '../src/index.js';

const PASSWORD = 'guard-Integration-Password-0123456789abcdef';

function appFor(guard: RedisGuard) {
  const app = express();
  app.use(requireRedis(guard, { service: 'sessions' }));
  app.get('/protected', async (_req, res) => {
    res.json({ pong: await guard.execute((c) => c.ping()) });
  });
  return app;
}

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function timed(
  url: string,
): Promise<{ status: number; ms: number; retryAfter: string | null; body: unknown }> {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.json();
  return {
    status: response.status,
    ms: performance.now() - started,
    retryAfter: response.headers.get('retry-after'),
    body,
  };
}

describe('guard + requireRedis against a killed and restarted redis-server (production)', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  let http: { server: Server; url: string };
  const log = captureLogger();
  const events: SecEvent[] = [];

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
    guard = createRedisGuard({
      config: { url: redis.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
      environment: 'production',
      logger: log.logger,
      breaker: { openDurationMs: 30_000, probeIntervalMs: 200 },
    });
    guard.observe((e) => events.push(e));
    await guard.ready();
    http = await listen(appFor(guard));
  });
  afterAll(async () => {
    http?.server.close();
    await guard?.close();
    await redis?.stop();
  });

  it('serves normally while Redis is up', async () => {
    expect((await timed(`${http.url}/protected`)).status).toBe(200);
    expect(guard.breaker.state).toBe('closed');
  });

  it('answers 503 with Retry-After and a JSON body naming the service while Redis is down, within 50 ms', async () => {
    await redis.kill();
    await waitFor('client to notice', async () => guard.client!.status !== 'ready');
    for (let i = 0; i < 5; i++) await guard.execute((c) => c.ping()).catch(() => undefined);
    expect(guard.breaker.snapshot()).toMatchObject({ state: 'open', failureCount: 5 });
    expect(log.messages('warn')).toContain('Circuit breaker opening after 5 failures');

    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await timed(`${http.url}/protected`));
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(answer.body).toMatchObject({ error: 'service_unavailable', service: 'sessions' });
    }
    expect(median(answers.map((a) => a.ms))).toBeLessThan(50);
    expect(events).toContainEqual({ type: 'unavailable.response', service: 'sessions' });
  });

  it('fails calls at once while open, without waiting on Redis', async () => {
    await expect(guard.execute((c) => c.get('x'))).rejects.toMatchObject({ code: 'ERR_SEC_CIRCUIT_OPEN' });
  });

  it('recovers early through the background PING once Redis returns, then serves 200 again', async () => {
    await redis.restart();
    await waitFor('breaker to close', async () => guard.breaker.state === 'closed', 10_000);
    expect((await timed(`${http.url}/protected`)).status).toBe(200);
    expect(log.messages('info')).toContain('Circuit breaker closing');
    expect(events.filter((e) => e.type === 'breaker.transition').map((e) => 'to' in e && e.to)).toEqual([
      'open',
      'half-open',
      'closed',
    ]);
  });

  it('a failure while half-open reopens the breaker', async () => {
    await redis.kill();
    await waitFor('client to notice', async () => guard.client!.status !== 'ready');
    for (let i = 0; i < 5; i++) await guard.execute((c) => c.ping()).catch(() => undefined);
    await redis.restart();
    await waitFor('half-open', async () => guard.breaker.state !== 'open', 10_000);
    await redis.kill();
    await waitFor('client to notice', async () => guard.client!.status !== 'ready');
    await guard.execute((c) => c.ping()).catch(() => undefined);
    expect(guard.breaker.state).toBe('open');
    expect(log.messages('warn')).toContain('Circuit breaker reopening');
    await redis.restart();
    await waitFor('breaker to close', async () => guard.breaker.state === 'closed', 10_000);
  });

  it('never logged the password', () => {
    expect(log.text()).not.toContain(PASSWORD);
  });
});

describe('requireRedis in development', () => {
  it('a configured Redis that is down: 503 + Retry-After, as in production; failClosed: false passes through', async () => {
    const redis = await startRedis();
    const log = captureLogger();
    const config = { url: redis.url };
    const guard = createRedisGuard({ config, environment: 'development', logger: log.logger });
    const open = createRedisGuard({
      config,
      environment: 'development',
      failClosed: false,
      logger: log.logger,
    });
    await Promise.all([guard.ready(), open.ready()]);
    const serve = (g: RedisGuard) =>
      listen(
        express()
          .use(requireRedis(g))
          .get('/', (_req, res) => {
            res.json({ ok: true });
          }),
      );
    const [closed, passing] = await Promise.all([serve(guard), serve(open)]);
    try {
      await redis.kill();
      await waitFor(
        'clients to notice',
        async () => guard.client!.status !== 'ready' && open.client!.status !== 'ready',
      );
      const refused = await timed(`${closed.url}/`);
      expect(refused.status).toBe(503);
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect((await timed(`${passing.url}/`)).status).toBe(200);
      expect((await timed(`${passing.url}/`)).status).toBe(200);
      expect(log.messages('warn').filter((m) => m.includes('letting requests through'))).toHaveLength(1);
    } finally {
      closed.server.close();
      passing.server.close();
      await Promise.all([guard.close(), open.close()]);
      await redis.stop();
    }
  });

  it('memory mode: no client, always available, one loud warning about workers per process', () => {
    // The first memory-mode guard of this test file's module registry.
    const log = captureLogger();
    const guard = createRedisGuard({ env: { NODE_ENV: 'development' }, logger: log.logger });
    expect(guard).toMatchObject({ mode: 'memory', isMock: true, client: undefined });
    expect(guard.isAvailable()).toBe(true);
    createRedisGuard({ env: { NODE_ENV: 'development' }, logger: log.logger });
    const warnings = log.messages('warn').filter((m) => m.includes('IN-MEMORY MODE'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/revoked on one worker stays valid on the others/);
  });
});

describe('bounded waits on a hung (not dead) Redis', () => {
  it('a command against a paused server fails after the command timeout with ERR_SEC_REDIS_TIMEOUT', async () => {
    const redis = await startRedis();
    const guard = createRedisGuard({
      config: { url: redis.url, commandTimeoutMs: 300 },
      environment: 'test',
      logger: captureLogger().logger,
    });
    try {
      await guard.ready();
      // CLIENT PAUSE freezes every other client: the server is up but answers nothing.
      const admin = (guard.client as Redis).duplicate();
      await new Promise((resolve) => admin.once('ready', resolve));
      await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
      const started = performance.now();
      await expect(guard.execute((c) => c.get('k'))).rejects.toMatchObject({ code: 'ERR_SEC_REDIS_TIMEOUT' });
      expect(performance.now() - started).toBeLessThan(1_500);
      admin.disconnect();
    } finally {
      await guard.close();
      await redis.stop();
    }
  });
});

describe('the breaker’s open period against a late success', () => {
  it('a call admitted before the breaker opened and answered after it does not end the open period', async () => {
    // BUSY replies (a script that runs too long) open the breaker without a timeout or a reconnect.
    const redis = await startRedis({ config: { 'busy-reply-threshold': '100' } });
    const guard = createRedisGuard({
      config: { url: redis.url, commandTimeoutMs: 5_000 },
      environment: 'test',
      logger: captureLogger().logger,
      breaker: { probeIntervalMs: 60_000 },
    });
    const admin = (guard.client as Redis).duplicate();
    const killer = (guard.client as Redis).duplicate();
    try {
      await guard.ready();
      // Connected before the server gets busy: a handshake then would be answered BUSY.
      await waitFor(
        'the side connections',
        async () => admin.status === 'ready' && killer.status === 'ready',
      );
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const late = guard.execute(async (c) => {
        await gate;
        return c.ping();
      });
      const busy = admin.eval('while true do end', 0).catch((error: unknown) => error);
      // The script runs once Redis has read it; until then a call may still be answered.
      await waitFor('the script to block the server', () =>
        killer.ping().then(
          () => false,
          (error: Error) => /BUSY/.test(error.message),
        ),
      );
      for (let i = 0; i < 5; i++) {
        await expect(guard.execute((c) => c.get('k'))).rejects.toMatchObject({
          message: expect.stringMatching(/BUSY/),
        });
      }
      expect(guard.breaker.state).toBe('open');
      await killer.script('KILL');
      expect(String(await busy)).toMatch(/killed/i);

      release();
      expect(await late).toBe('PONG');
      expect(guard.breaker.state).toBe('open');
      expect(guard.isAvailable()).toBe(false);
      // Only the breaker's own probe ends it early.
      guard.breaker.probeNow();
      await waitFor(
        'the probe to half-open the breaker',
        async () => guard.breaker.state === 'half-open',
        5_000,
      );
    } finally {
      admin.disconnect();
      killer.disconnect();
      await guard.close();
      await redis.stop();
    }
  });
});

describe('ready() after an outage', () => {
  it('waits, within its time-out, for the breaker to let calls through again instead of failing at once', async () => {
    const redis = await startRedis();
    const guard = createRedisGuard({
      config: { url: redis.url },
      environment: 'test',
      logger: captureLogger().logger,
      breaker: { failureThreshold: 1, openDurationMs: 60_000, probeIntervalMs: 50 },
    });
    try {
      await guard.ready();
      // The client is connected, but the breaker has just opened: as right after Redis returns,
      // before the breaker's probe has closed it.
      guard.breaker.recordFailure('connection lost');
      expect(guard.breaker.state).toBe('open');
      await expect(guard.ready(5_000)).resolves.toBeUndefined();
      expect(guard.breaker.state).toBe('closed');
    } finally {
      await guard.close();
      await redis.stop();
    }
  });

  it('waits out a PING slower than the command timeout (a busy host) instead of failing on the first one', async () => {
    const redis = await startRedis();
    const guard = createRedisGuard({
      config: { url: redis.url },
      environment: 'test',
      logger: captureLogger().logger,
    });
    const admin = new Redis({ port: redis.port });
    try {
      await guard.ready();
      // Every client is held for 1.5 s: the first PING times out after 1 s, a later one is answered.
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      await expect(guard.ready(5_000)).resolves.toBeUndefined();
    } finally {
      admin.disconnect();
      await guard.close();
      await redis.stop();
    }
  });

  it('names the last refusal when the deadline passes', async () => {
    const redis = await startRedis();
    const guard = createRedisGuard({
      config: { url: redis.url },
      environment: 'test',
      logger: captureLogger().logger,
    });
    try {
      await guard.ready();
      redis.pause();
      const error = await guard.ready(1_500).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe('ERR_SEC_REDIS_CONNECT_FAILED');
      // The message carries the last failure, and the error its cause.
      expect(error?.message).toMatch(/within 1500 ms \(Redis (call failed|did not answer)/);
      expect(error?.cause).toBeInstanceOf(RedisUnavailableError);
    } finally {
      redis.resume();
      await guard.close();
      await redis.stop();
    }
  });
});
