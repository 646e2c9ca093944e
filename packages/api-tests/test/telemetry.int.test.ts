import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createEncryptedCache, Fernet } from '@sec/cache-crypto';
import { rateLimit } from '@sec/rate-limit';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { createSessionManager, type SessionManager } from '@sec/session';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import express from 'express';

const PASSWORD = 'telemetry-Integration-Password-0123456789ab';
const SECRET = 'telemetry-signing-secret-0123456789-abcdefghijklmnopq';
const CACHE_KEY = Fernet.generateKey();
const log = captureLogger();

describe('OpenTelemetry spans', () => {
  const exporter = new InMemorySpanExporter();
  let redis: RedisServer;
  let guard: RedisGuard;
  let sessions: SessionManager;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    redis = await startRedis({ password: PASSWORD });
    guard = createRedisGuard({
      config: { url: redis.url, password: PASSWORD },
      environment: 'test',
      logger: log.logger,
    });
    await guard.ready();
    sessions = createSessionManager({
      redis: guard,
      signingKeys: [{ kid: 'k1', secret: SECRET }],
      issuer: 'https://auth.test',
      audience: 'test-api',
      logger: log.logger,
    });
    const app = express().get('/me', sessions.authenticate(), (req, res) => {
      res.json({ user: req.auth?.userId });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
  });
  afterAll(async () => {
    server?.close();
    await sessions?.close();
    await guard?.close();
    await redis?.stop();
    trace.disable();
  });

  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);

  it('traces session checks, limiter decisions, cache reads and writes and breaker transitions, with no secret in them', async () => {
    const { accessToken } = await sessions.create('alice@example.com', { roles: ['reader'] });
    const forged = `${accessToken.slice(0, -6)}AAAAAA`;
    const answers = await Promise.all(
      [accessToken, forged, undefined].flatMap((token) =>
        Array.from({ length: 40 }, () =>
          fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }).then(
            (r) => r.status,
          ),
        ),
      ),
    );
    expect(answers.filter((s) => s === 200)).toHaveLength(40);
    expect(answers.filter((s) => s === 401)).toHaveLength(80);

    const limiter = rateLimit({ redis: guard, name: 'api', points: 3, windowMs: 60_000 });
    for (let i = 0; i < 5; i++) await limiter.consumeKey('203.0.113.9');

    const cache = createEncryptedCache({
      redis: guard,
      keys: [CACHE_KEY],
      namespace: 'profiles',
      logger: log.logger,
    });
    await cache.set('user:alice@example.com', { plan: 'pro' });
    expect(await cache.get('user:alice@example.com')).toEqual({ plan: 'pro' });
    expect(await cache.get('user:bob@example.com')).toBeUndefined();

    for (let i = 0; i < guard.breaker.failureThreshold; i++) guard.breaker.recordFailure('injected');
    expect(guard.breaker.state).toBe('open');

    const checks = spans('sec.session.check').map((s) => s.attributes['sec.session.outcome']);
    expect(checks.filter((o) => o === 'authenticated')).toHaveLength(40);
    expect(checks.filter((o) => o === 'refused')).toHaveLength(80);
    expect(
      spans('sec.session.check').find((s) => s.attributes['sec.session.outcome'] === 'refused')?.attributes[
        'sec.error'
      ],
    ).toMatch(/^ERR_SEC_/);
    expect(spans('sec.ratelimit.decision').map((s) => s.attributes['sec.ratelimit.outcome'])).toEqual([
      'allowed',
      'allowed',
      'allowed',
      'limited',
      'limited',
    ]);
    expect(spans('sec.ratelimit.decision')[0]!.attributes).toMatchObject({
      'sec.ratelimit.limiter': 'api',
      'sec.ratelimit.remaining': 2,
    });
    expect(spans('sec.cache.get').map((s) => s.attributes['sec.cache.hit'])).toEqual([true, false]);
    expect(spans('sec.cache.set')[0]!.attributes).toMatchObject({
      'sec.cache.namespace': 'profiles',
      'sec.cache.stored': true,
    });
    expect(spans('sec.breaker.transition').at(-1)!.attributes).toMatchObject({
      'sec.breaker.from': 'closed',
      'sec.breaker.to': 'open',
    });

    // Nothing secret or personal anywhere in what would leave the process.
    const exported = JSON.stringify(
      exporter
        .getFinishedSpans()
        .map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, events: s.events })),
    );
    for (const secret of [
      PASSWORD,
      SECRET,
      CACHE_KEY,
      accessToken,
      forged,
      'alice@example.com',
      'bob@example.com',
      '203.0.113.9',
    ]) {
      expect(exported).not.toContain(secret);
    }
  });
});
