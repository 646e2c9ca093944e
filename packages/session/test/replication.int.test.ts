import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard, RedisUnavailableError } from '@sec/redis-guard';
import {
  captureLogger,
  PRODUCTION_ON_LOOPBACK,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  type RedisServer,
  redisCli,
  startCluster,
  startSentinel,
  waitFor,
} from '@sec/testing';
import type { SessionManager } from '../src/index.js';
import { manager } from './helpers.js';

const PASSWORD = 'replication-Test-Password-0123456789abcdefg';
/**
 * Successful confirmations get a wait no loaded machine runs out of: a replica acknowledges within
 * milliseconds, and the wait only bounds how long a missing replica can hold a revocation up.
 */
const GENEROUS_WAIT_MS = 10_000;
/** For the cases where no replica can confirm and the call must fail. */
const SHORT_WAIT_MS = 300;

async function waitCalls(node: { port: number }): Promise<number> {
  const info = await redisCli({ port: node.port, password: PASSWORD }, 'INFO', 'commandstats');
  return Number(/cmdstat_wait:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/** Expects `call` to reject as "not replicated" (a 503), never to claim success. */
async function expectNotReplicated(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code: 'ERR_SEC_SESSION_NOT_REPLICATED' });
  expect(error).toBeInstanceOf(RedisUnavailableError);
}

/**
 * A failover promotes a replica; if it never saw a revocation, the revoked session comes back.
 * So every revocation and role change waits for a replica (WAIT on the connection that wrote
 * it), and fails (503, safe to retry) rather than claim success when none confirms.
 */
describe('revocations are replicated before they return (Sentinel)', () => {
  let sentinel: RedisSentinelHandle;
  let guard: RedisGuard;
  let sessions: SessionManager;
  let quick: SessionManager;
  beforeAll(async () => {
    sentinel = await startSentinel({ password: PASSWORD });
    guard = createRedisGuard({
      env: { ...PRODUCTION_ON_LOOPBACK, ...sentinel.env },
      logger: captureLogger().logger,
    });
    await guard.ready();
    sessions = manager({ redis: guard, replicaWaitMs: GENEROUS_WAIT_MS });
    quick = manager({ redis: guard, replicaWaitMs: SHORT_WAIT_MS });
  });
  afterAll(async () => {
    await Promise.all([sessions?.close(), quick?.close()]);
    await guard?.close();
    await sentinel?.stop();
  });

  it('revoke, revoke-all, sign-out-others and role changes each WAIT for a replica on the primary', async () => {
    // The very first revocation after start-up must not fail while its connection is still opening.
    const a = await sessions.create('carol');
    await sessions.create('carol');
    expect(await sessions.revoke(a.sessionId)).toBe(true);
    const before = await waitCalls(sentinel.master);
    const b = await sessions.create('dave');
    expect(await sessions.revoke(b.sessionId)).toBe(true);
    expect(await sessions.revokeAllForUser('carol')).toBe(1);
    const c = await sessions.create('dave');
    await sessions.create('dave');
    expect(await sessions.revokeOtherSessions(c.sessionId)).toBe(1);
    await sessions.updateUser('dave', { roles: ['admin'] });
    expect((await waitCalls(sentinel.master)) - before).toBe(4);
  });

  it('with no replica to confirm, revoke rejects as unavailable instead of claiming success', async () => {
    const session = await quick.create('erin');
    await sentinel.replica.kill();
    try {
      await expectNotReplicated(quick.revoke(session.sessionId));
    } finally {
      await sentinel.replica.restart();
    }
    // Applied on the primary all the same: the session no longer authenticates.
    await waitFor('the breaker to let calls through', async () => guard.isAvailable());
    await expect(quick.verifyRequestToken(session.accessToken)).rejects.toMatchObject({
      reason: 'unknown_session',
    });
  });
});

describe('revocations are replicated before they return (Cluster with replicas)', () => {
  let cluster: RedisClusterHandle;
  let guard: RedisGuard;
  let sessions: SessionManager;
  let quick: SessionManager;
  const log = captureLogger();

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, replicas: 1, password: PASSWORD });
    guard = createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...cluster.env }, logger: log.logger });
    await guard.ready(10_000);
    sessions = manager({ redis: guard, logger: log.logger, replicaWaitMs: GENEROUS_WAIT_MS });
    quick = manager({ redis: guard, logger: log.logger, replicaWaitMs: SHORT_WAIT_MS });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([sessions?.close(), quick?.close()]);
    await guard?.close();
    await cluster?.stop();
  });

  /** The master holding a user's slot: the one where the user's session hash exists. */
  async function masterOf(userId: string): Promise<RedisServer> {
    for (const master of cluster.masters) {
      const exists = await redisCli(
        { port: master.port, password: PASSWORD },
        'EXISTS',
        `sec:sess:{u:${userId}}`,
      );
      if (exists.trim() === '1') return master;
    }
    throw new Error(`no master holds ${userId}`);
  }

  it("each revocation and role change WAITs on the primary of the user's slot, and only there", async () => {
    const warm = await sessions.create('fred');
    await sessions.create('fred');
    expect(await sessions.revoke(warm.sessionId)).toBe(true);
    const master = await masterOf('fred');
    const before = await Promise.all(cluster.masters.map(waitCalls));

    const a = await sessions.create('fred');
    expect(await sessions.revoke(a.sessionId)).toBe(true);
    const b = await sessions.create('fred');
    expect(await sessions.revokeOtherSessions(b.sessionId)).toBe(1);
    await sessions.updateUser('fred', { roles: ['user'] });
    expect(await sessions.revokeAllForUser('fred')).toBe(1);

    const after = await Promise.all(cluster.masters.map(waitCalls));
    const delta = cluster.masters.map((m, i) => [m.port, after[i]! - before[i]!]);
    expect(delta).toEqual(cluster.masters.map((m) => [m.port, m === master ? 4 : 0]));
  });

  it("with the shard's replica down, a revocation fails as unavailable; it still took effect on the primary", async () => {
    const session = await quick.create('gwen');
    const master = await masterOf('gwen');
    const replica = cluster.replicaOf(master)!;
    await replica.kill();
    try {
      await expectNotReplicated(quick.revoke(session.sessionId));
      await waitFor('the breaker to let calls through', async () => guard.isAvailable());
      await expect(quick.verifyRequestToken(session.accessToken)).rejects.toMatchObject({
        reason: 'unknown_session',
      });
    } finally {
      await replica.restart();
    }
    const next = await sessions.create('gwen');
    await waitFor(
      'the restarted replica to confirm a revocation',
      () =>
        sessions.revoke(next.sessionId).then(
          () => true,
          () => false,
        ),
      30_000,
    );
    await expect(sessions.verifyRequestToken(next.accessToken)).rejects.toMatchObject({
      reason: 'unknown_session',
    });
  }, 60_000);

  it('never logged the Redis password', () => {
    expect(log.text()).not.toContain(PASSWORD);
  });
});
