import { randomInt } from 'node:crypto';
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis } from '@sec/testing';
import { type RunningDemo, startDemo } from '../demo-process.js';
import {
  bearer,
  type Exchange,
  histogram,
  LONG,
  type LoggedIn,
  login,
  newSecrets,
  pool,
  productionEnv,
  report,
  scale,
  send,
  sleep,
  workerPids,
} from './support.js';

/**
 * Revocation under load: many sessions hammered on all four workers while an admin revokes half of
 * them, one by one, through whichever worker takes the call. The promise: once DELETE
 * /auth/users/:userId/sessions/:id has returned, no worker accepts that session again, not even a
 * request sent the same millisecond to another worker.
 */
const SECRETS = newSecrets();
const SESSIONS = scale(100, 1_000);
const USERS = Array.from({ length: 10 }, (_, i) => `user${i}`);
const LOOPS = 8;
/** After each revoke returns, this many requests go out at once on fresh connections (round-robin). */
const BURST = 4;
const PACE_MS = 4;
const MAX_REQUESTS_PER_LOOP = scale(4_000, 40_000);
const DEADLINE_MS = scale(60_000, 300_000);

interface Hit extends Exchange {
  readonly session: number;
}

interface Revocation {
  readonly session: number;
  readonly call: Exchange;
}

describe(`revocation under load (${LONG ? 'long' : 'short'} form)`, () => {
  let redis: RedisServer;
  let demo: RunningDemo;
  let pidsBefore: string[];
  let sessions: LoggedIn[];
  const hits: Hit[] = [];
  const phases = { loginsMs: 0, loadMs: 0 };
  const revocations: Revocation[] = [];

  beforeAll(async () => {
    redis = await startRedis({ password: SECRETS.redisPassword, tls: true });
    const users = [...USERS.map((u) => `${u}:${u}-password:user`), 'admin:admin-password:admin'].join(',');
    demo = await startDemo(
      productionEnv(redis, SECRETS, { DEMO_USERS: users, RATE_LIMIT_POINTS: '1000000' }),
    );
    pidsBefore = workerPids(demo.child.pid!);
  }, 60_000);

  afterAll(async () => {
    await demo?.stop();
    await redis?.stop();
  });

  it(
    `revokes half of ${SESSIONS} sessions while they are in use on every worker`,
    async () => {
      const loginsStarted = performance.now();
      const admin = await login(demo.base, 'admin');
      sessions = await pool(
        Array.from({ length: SESSIONS }, (_, i) => USERS[i % USERS.length]!),
        4,
        (user) => login(demo.base, user),
      );
      phases.loginsMs = Math.round(performance.now() - loginsStarted);
      const loadStarted = performance.now();
      const order = sessions.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const toRevoke = order.slice(0, SESSIONS / 2);
      const recent: number[] = [];
      const deadline = performance.now() + DEADLINE_MS;
      let stopped = false;

      const request = async (session: number, agent?: Agent) => {
        const answer = await send(demo.base, {
          path: '/api/me',
          headers: bearer(sessions[session]!.token),
          agent,
        });
        hits.push({ session, ...answer });
      };
      const loop = async (index: number) => {
        const agent = index % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
        for (let n = 0; n < MAX_REQUESTS_PER_LOOP && !stopped && performance.now() < deadline; n++) {
          // Half the time a just-revoked session: the race worth testing is right after the revoke.
          const pick =
            recent.length > 0 && n % 2 === 0 ? recent[randomInt(recent.length)]! : randomInt(SESSIONS);
          await request(pick, agent);
          await sleep(PACE_MS);
        }
        agent?.destroy();
      };
      const load = Promise.all(Array.from({ length: LOOPS }, (_, i) => loop(i)));

      await sleep(300);
      for (const session of toRevoke) {
        if (performance.now() > deadline) break;
        const call = await send(demo.base, {
          method: 'DELETE',
          path: `/auth/users/${sessions[session]!.user}/sessions/${encodeURIComponent(sessions[session]!.sessionId)}`,
          headers: bearer(admin.token),
        });
        revocations.push({ session, call });
        recent.push(session);
        if (recent.length > 5) recent.shift();
        await Promise.all(Array.from({ length: BURST }, () => request(session)));
        await sleep(randomInt(20));
      }
      await sleep(300);
      stopped = true;
      await load;
      phases.loadMs = Math.round(performance.now() - loadStarted);
      expect(revocations).toHaveLength(toRevoke.length);
    },
    DEADLINE_MS + 120_000,
  );

  it('every revoke call returned 204, through every worker', () => {
    expect(histogram(revocations.map((r) => r.call.status))).toEqual({ 204: revocations.length });
    expect(new Set(revocations.map((r) => r.call.worker)).size).toBe(4);
  });

  it('0 requests accepted for a session that started after its revoke call returned', () => {
    const returnedAt = new Map(revocations.map((r) => [r.session, r.call.end]));
    const checked = hits.filter((h) => h.start > (returnedAt.get(h.session) ?? Number.POSITIVE_INFINITY));
    const accepted = checked.filter((h) => h.status === 200);
    report('revocation', {
      sessions: SESSIONS,
      revoked: revocations.length,
      ...phases,
      requests: hits.length,
      requestsChecked: checked.length,
      checkedByWorker: histogram(checked.map((h) => h.worker)),
      statuses: histogram(hits.map((h) => h.status)),
      revokesByWorker: histogram(revocations.map((r) => r.call.worker)),
    });
    expect(accepted).toEqual([]);
    expect(histogram(checked.map((h) => h.status))).toEqual({ 401: checked.length });
    expect(checked.length).toBeGreaterThanOrEqual(revocations.length * BURST);
    expect(new Set(checked.map((h) => h.worker)).size).toBe(4);
  });

  it('sessions are accepted until revoked: live sessions never got anything but 200', () => {
    const revokeStarted = new Map(revocations.map((r) => [r.session, r.call.start]));
    const live = hits.filter((h) => h.end < (revokeStarted.get(h.session) ?? Number.POSITIVE_INFINITY));
    expect(live.length).toBeGreaterThan(0);
    expect(histogram(live.map((h) => h.status))).toEqual({ 200: live.length });
    expect(new Set(live.map((h) => h.worker)).size).toBe(4);
  });

  it('no request went unanswered and no worker crashed', () => {
    expect(hits.filter((h) => h.status === 0)).toEqual([]);
    expect(workerPids(demo.child.pid!)).toEqual(pidsBefore);
    expect(demo.output()).not.toMatch(/died/);
  });
});
