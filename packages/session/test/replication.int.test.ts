import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, isRedisUnavailable, type RedisGuard } from '@sec/redis-guard';
import {
  captureLogger,
  PRODUCTION_ON_LOOPBACK,
  type RedisSentinelHandle,
  redisCli,
  startSentinel,
  waitFor,
} from '@sec/testing';
import type { SessionManager } from '../src/index.js';
import { manager } from './helpers.js';

const PASSWORD = 'replication-Test-Password-0123456789abcdefg';

async function waitCalls(port: number): Promise<number> {
  const info = await redisCli({ port, password: PASSWORD }, 'INFO', 'commandstats');
  return Number(/cmdstat_wait:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * A failover promotes a replica; if it never saw a revocation, the revoked session comes back.
 * On a Sentinel client every revocation and role change therefore waits for a replica (WAIT),
 * and fails (503, safe to retry) rather than claim success when none confirms.
 */
describe('revocations are replicated before they return (Sentinel)', () => {
  let sentinel: RedisSentinelHandle;
  let guard: RedisGuard;
  let sessions: SessionManager;
  beforeAll(async () => {
    sentinel = await startSentinel({ password: PASSWORD });
    guard = createRedisGuard({
      env: { ...PRODUCTION_ON_LOOPBACK, ...sentinel.env },
      logger: captureLogger().logger,
    });
    await guard.ready();
    sessions = manager({ redis: guard, replicaWaitMs: 300 });
  });
  afterAll(async () => {
    await sessions?.close();
    await guard?.close();
    await sentinel?.stop();
  });

  it('revoke, revoke-all and role changes each WAIT for a replica on the primary', async () => {
    // The very first revocation after start-up must not fail while its connection is still opening.
    const a = await sessions.create('carol');
    await sessions.create('carol');
    expect(await sessions.revoke(a.sessionId)).toBe(true);
    const before = await waitCalls(sentinel.master.port);
    const b = await sessions.create('dave');
    expect(await sessions.revoke(b.sessionId)).toBe(true);
    expect(await sessions.revokeAllForUser('carol')).toBe(1);
    await sessions.updateUser('dave', { roles: ['admin'] });
    expect((await waitCalls(sentinel.master.port)) - before).toBe(3);
  });

  it('with no replica to confirm, revoke rejects as unavailable instead of claiming success', async () => {
    const session = await sessions.create('erin');
    await sentinel.replica.kill();
    try {
      const started = performance.now();
      const error = await sessions.revoke(session.sessionId).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'ERR_SEC_SESSION_NOT_REPLICATED' });
      expect(isRedisUnavailable(error)).toBe(true);
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      await sentinel.replica.restart();
    }
    // Applied on the primary all the same: the session no longer authenticates.
    await waitFor('the breaker to let calls through', async () => guard.isAvailable());
    await expect(sessions.verifyRequestToken(session.accessToken)).rejects.toMatchObject({
      reason: 'unknown_session',
    });
  });
});
