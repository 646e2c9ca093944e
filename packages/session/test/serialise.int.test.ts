import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import { Redis } from 'ioredis';
import { createSessionManager, type SessionManager } from '../src/index.js';

// Delimiters that URLs and loggers trip over, percent-encoded into REDIS_URL.
const REDIS_PASSWORD = 'Xq7/Zr#P@kv%w-0123456789ABCDEFGHIJ';
const SIGNING_SECRET = randomBytes(48).toString('base64url');

/** Every 6-character piece of `secret` that `text` contains. */
function leakedPieces(text: string, secret: string): string[] {
  const pieces: string[] = [];
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    for (let i = 0; i + 6 <= form.length; i++) {
      if (text.includes(form.slice(i, i + 6))) pieces.push(form.slice(i, i + 6));
    }
  }
  return pieces;
}

/** What JSON bodies, loggers (pino honours toJSON; its serialisers copy enumerable properties) and console.log show. */
function everyView(value: object): string {
  const copied: Record<string, unknown> = {};
  for (const key in value) copied[key] = (value as Record<string, unknown>)[key];
  return [
    JSON.stringify(value),
    JSON.stringify({ sessions: value }),
    JSON.stringify(copied),
    inspect(value, { depth: 10 }),
    inspect(value, { depth: 10, showHidden: true, getters: true }),
    inspect(copied, { depth: 10, getters: true }),
  ].join('\n');
}

describe('a session manager holds no secret in anything serialisable or inspectable', () => {
  let redis: RedisServer;
  const guards: RedisGuard[] = [];
  const managers: SessionManager[] = [];
  const clients: Redis[] = [];
  beforeAll(async () => {
    redis = await startRedis({ password: REDIS_PASSWORD });
  });
  afterAll(async () => {
    await Promise.all(managers.map((m) => m.close()));
    await Promise.all(guards.map((g) => g.close()));
    for (const client of clients) client.disconnect();
    await redis?.stop();
  });

  const build = (guard: RedisGuard) => {
    const sessions = createSessionManager({
      redis: guard,
      signingKeys: [{ kid: 'k1', secret: SIGNING_SECRET }],
      issuer: 'https://auth.test',
      audience: 'test-api',
      cookie: true,
    });
    managers.push(sessions);
    return sessions;
  };

  it('with a guard built from REDIS_URL, after real work', async () => {
    const guard = createRedisGuard({
      env: { REDIS_URL: `redis://:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:${redis.port}` },
      environment: 'test',
      logger: captureLogger().logger,
    });
    guards.push(guard);
    await guard.ready();
    const sessions = build(guard);
    await sessions.create('alice');
    const views = everyView(sessions);
    expect(leakedPieces(views, REDIS_PASSWORD)).toEqual([]);
    expect(leakedPieces(views, SIGNING_SECRET)).toEqual([]);
  });

  it("with the app's own ioredis client", async () => {
    const client = new Redis({ port: redis.port, password: REDIS_PASSWORD, enableOfflineQueue: false });
    clients.push(client);
    const guard = createRedisGuard({ client, environment: 'test', logger: captureLogger().logger });
    guards.push(guard);
    await guard.ready();
    const sessions = build(guard);
    await sessions.create('bob');
    const views = everyView(sessions);
    expect(leakedPieces(views, REDIS_PASSWORD)).toEqual([]);
    expect(leakedPieces(views, SIGNING_SECRET)).toEqual([]);
  });
});
