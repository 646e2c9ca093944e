import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { type ConfinedRedis, captureLogger, redisCli, startConfinedRedis, waitFor } from '@sec/testing';
import type { SessionEvent, SessionManager } from '../src/index.js';
import { manager } from './helpers.js';

// The guard's keyPrefix is the only prefix: with an ACL user that may touch nothing outside it,
// every session operation still works, so no key or channel escapes the prefix.

describe("sessions under the guard's keyPrefix", () => {
  let redis: ConfinedRedis;
  let guard: RedisGuard;
  let sessions: SessionManager;
  const log = captureLogger();

  beforeAll(async () => {
    redis = await startConfinedRedis('sec:shop:');
    guard = createRedisGuard({
      config: redis.config,
      environment: 'test',
      logger: log.logger,
      keyPrefix: 'sec:shop:',
    });
    await guard.ready();
    sessions = manager({ redis: guard, logger: log.logger });
  });
  afterAll(async () => {
    await sessions?.close();
    await guard?.close();
    await redis?.server.stop();
  });

  it('keeps every key and the event channel under the prefix, and each operation works', async () => {
    const events: SessionEvent[] = [];
    sessions.onEvent((event) => events.push(event));
    await waitFor('the subscriber', async () =>
      (await redisCli(redis.server, 'PUBSUB', 'NUMSUB', 'sec:shop:session:events')).endsWith('\n1\n'),
    );
    const one = await sessions.create('ada', { roles: ['admin'] });
    const two = await sessions.create('ada');
    await expect(sessions.verifyRequestToken(one.accessToken)).resolves.toMatchObject({ roles: ['admin'] });
    expect(await sessions.touch(one.sessionId)).toBe(true);
    expect(await sessions.markReauthenticated(one.sessionId)).toBe(true);
    await sessions.updateUser('ada', { roles: ['user'] });
    expect(await sessions.listForUser('ada')).toHaveLength(2);
    expect(await sessions.revokeOtherSessions(one.sessionId)).toBe(1);
    expect(await sessions.revoke(two.sessionId)).toBe(false);
    await sessions.data(one.sessionId).set('cart', ['tea']);
    expect(await sessions.data(one.sessionId).getAll()).toEqual({ cart: ['tea'] });
    const handle = one.sessionId.slice(one.sessionId.lastIndexOf('.') + 1);
    expect(await redis.keys()).toEqual([
      'sec:shop:sess:{u:ada}',
      `sec:shop:sess:{u:ada}:data:${handle}`,
      'sec:shop:user:{u:ada}',
    ]);
    expect(await sessions.revokeAllForUser('ada')).toBe(1);
    expect(await redis.keys()).toEqual(['sec:shop:user:{u:ada}']);
    await waitFor('the revoke_all event', async () => events.some((e) => e.type === 'revoke_all'));
    expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
  });
});
