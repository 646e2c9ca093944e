import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard, type SecEvent } from '@sec/redis-guard';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '@sec/redis-guard/internal';
import { captureLogger, type RedisServer, startRedis, waitFor } from '@sec/testing';
import type { SessionManager } from '../src/index.js';
import { appFor, listen, manager, median } from './helpers.js';

const PASSWORD = 'session-Outage-Password-0123456789-abcdef';

async function timed(url: string, token: string) {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await response.json();
  return {
    status: response.status,
    ms: performance.now() - started,
    retryAfter: response.headers.get('retry-after'),
    body,
  };
}

describe.each(['production', 'development'] as const)(
  'authenticate() while Redis is down (%s)',
  (environment) => {
    let redis: RedisServer;
    let guard: RedisGuard;
    let sessions: SessionManager;
    let http: { server: Server; url: string };
    let token: string;
    const log = captureLogger();
    const events: SecEvent[] = [];

    beforeAll(async () => {
      redis = await startRedis({ password: PASSWORD });
      guard = createRedisGuard({
        config: { url: redis.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
        environment,
        logger: log.logger,
        breaker: { probeIntervalMs: 200 },
      });
      guard.observe((e) => events.push(e));
      await guard.ready();
      sessions = manager({ redis: guard, logger: log.logger });
      http = await listen(appFor(sessions));
      token = (await sessions.create('alice')).accessToken;
    });
    afterAll(async () => {
      http?.server.close();
      await sessions?.close();
      await guard?.close();
      await redis?.stop();
    });

    it('serves 200 while Redis is up', async () => {
      expect((await timed(`${http.url}/me`, token)).status).toBe(200);
    });

    it('answers 503 + Retry-After at once when Redis is killed: never 401, never 500, never a hang', async () => {
      await redis.kill();
      await waitFor('the client to notice', async () => guard.client!.status !== 'ready');
      const answers = [];
      for (let i = 0; i < 15; i++) answers.push(await timed(`${http.url}/me`, token));
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(answer.body).toMatchObject({ error: 'service_unavailable', service: 'session' });
      }
      // "At once" means without waiting on Redis: well under one command timeout (typically ~2 ms;
      // the bound leaves room for a loaded machine rather than measuring its speed).
      expect(median(answers.map((a) => a.ms))).toBeLessThan(DEFAULT_COMMAND_TIMEOUT_MS / 2);
      expect(guard.breaker.state).toBe('open');
      expect(events).toContainEqual({ type: 'unavailable.response', service: 'session' });
    });

    it('refuses to create sessions while down, with the guard error', async () => {
      await expect(sessions.create('bob')).rejects.toMatchObject({ retryAfterSeconds: expect.any(Number) });
    });

    it('recovers after restart: new logins work (the harness Redis keeps no data, so the old session is gone: 401, not 200)', async () => {
      await redis.restart();
      await waitFor('the guard to recover', async () => guard.isAvailable(), 15_000);
      const fresh = await sessions.create('alice');
      expect((await timed(`${http.url}/me`, fresh.accessToken)).status).toBe(200);
      expect((await timed(`${http.url}/me`, token)).status).toBe(401);
    });

    it('never logged the Redis password', () => {
      expect(log.text()).not.toContain(PASSWORD);
    });
  },
);
