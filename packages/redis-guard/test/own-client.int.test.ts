import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { captureLogger, type RedisServer, startRedis, waitFor } from '@sec/testing';
import { Redis } from 'ioredis';
import { createRedisGuard, type RedisGuard } from '../src/index.js';

// Both carry every URL delimiter; neither contains an English word the logs could contain.
const RIGHT = 'Rq7/Zx#Pk@v%w?Jm:0123456789ABCDEFGHIJ';
const WRONG = 'Wn4/Yt#Lb@c%q?Hd:9876543210KLMNOPQRST';

function leakedPieces(text: string, secret: string): string[] {
  const pieces: string[] = [];
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    for (let i = 0; i + 6 <= form.length; i++) {
      if (text.includes(form.slice(i, i + 6))) pieces.push(form.slice(i, i + 6));
    }
  }
  return pieces;
}

describe('passwords with URL delimiters against a real password-protected Redis', () => {
  let redis: RedisServer;
  const guards: RedisGuard[] = [];
  const clients: Redis[] = [];
  beforeAll(async () => {
    redis = await startRedis({ password: RIGHT });
  });
  afterAll(async () => {
    await Promise.all(guards.map((g) => g.close()));
    for (const client of clients) client.disconnect();
    await redis?.stop();
  });

  it('a percent-encoded REDIS_URL password authenticates (it was read whole)', async () => {
    const log = captureLogger();
    const guard = createRedisGuard({
      env: { REDIS_URL: `redis://:${encodeURIComponent(RIGHT)}@127.0.0.1:${redis.port}` },
      environment: 'test',
      logger: log.logger,
    });
    guards.push(guard);
    await guard.ready();
    expect(await guard.execute((c) => c.ping())).toBe('PONG');
    expect(leakedPieces(log.text(), RIGHT)).toEqual([]);
  });

  it("the app's own client with a wrong password: WRONGPASS logged once, masked; errors hold no piece of it", async () => {
    const log = captureLogger();
    const client = new Redis({
      port: redis.port,
      password: WRONG,
      enableOfflineQueue: false,
      retryStrategy: () => 200,
    });
    clients.push(client);
    const guard = createRedisGuard({ client, environment: 'test', logger: log.logger });
    guards.push(guard);
    await waitFor('the WRONGPASS to be logged', async () =>
      log.records.some(
        (r) => (r.obj as { event?: string }).event === 'redis.error' && /WRONGPASS/.test(r.msg ?? ''),
      ),
    );
    const error = await guard.execute((c) => c.ping()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const printed = [
      String(error),
      (error as Error).stack,
      JSON.stringify(error),
      inspect(error, { depth: 6, showHidden: true }),
      log.text(),
      JSON.stringify(guard),
      inspect(guard, { depth: 6, showHidden: true }),
    ].join('\n');
    expect(leakedPieces(printed, WRONG)).toEqual([]);
    expect(log.records.filter((r) => /WRONGPASS/.test(r.msg ?? ''))).toHaveLength(1);
  });
});
