import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  invalidFrame,
  RESET_MOMENTS,
  type RedisServer,
  rawUpgrade,
  startRedis,
  type UpgradeAttempt,
  type UpgradeResult,
  waitFor,
} from '@sec/testing';
import { type RunningDemo, startDemo } from '../demo-process.js';
import {
  bearer,
  type Exchange,
  histogram,
  type LoggedIn,
  login,
  newSecrets,
  pool,
  productionEnv,
  report,
  send,
  workerPids,
} from './support.js';

/**
 * Unauthenticated upgrade requests built to crash a worker: targets `new URL()` rejects, unknown
 * paths, missing and bad tokens, each met with a client reset at every moment. Two production
 * workers must survive all of them while bystanders keep getting answers.
 */
const SECRETS = newSecrets();
const EACH = 50;

interface HostileUpgrade {
  readonly kind: string;
  readonly expected: number;
  readonly attempt: UpgradeAttempt;
}

describe('hostile WebSocket upgrades against 2 production workers', () => {
  let redis: RedisServer;
  let demo: RunningDemo;
  let port: number;
  let pidsBefore: string[];
  let alice: LoggedIn;
  let revoked: LoggedIn;

  beforeAll(async () => {
    redis = await startRedis({ password: SECRETS.redisPassword, tls: true });
    demo = await startDemo(productionEnv(redis, SECRETS, { WORKERS: '2', RATE_LIMIT_POINTS: '1000000' }));
    port = Number(new URL(demo.base).port);
    pidsBefore = workerPids(demo.child.pid!);
    alice = await login(demo.base, 'alice');
    revoked = await login(demo.base, 'bob');
    const logout = await send(demo.base, {
      method: 'POST',
      path: '/auth/logout',
      headers: bearer(revoked.token),
    });
    expect(logout.status).toBe(204);
  }, 60_000);

  afterAll(async () => {
    await demo?.stop();
    await redis?.stop();
  });

  /** Bystanders on fresh connections (spread over both workers), 3 at a time, until `until` settles. */
  async function bystanders<T>(until: Promise<T>): Promise<{ result: T; answers: Exchange[] }> {
    const answers: Exchange[] = [];
    let done = false;
    const lane = async () => {
      while (!done) answers.push(await send(demo.base, { path: '/api/me', headers: bearer(alice.token) }));
    };
    const lanes = Promise.all([lane(), lane(), lane()]);
    const result = await until.finally(() => {
      done = true;
    });
    await lanes;
    return { result, answers };
  }

  function deaths(): number {
    return (demo.output().match(/died \(/g) ?? []).length;
  }

  it(`${EACH} each of unparsable targets, unknown paths, missing and bad tokens, reset at every moment: no worker dies, every bystander answered`, async () => {
    const kinds: { kind: string; expected: number; variants: { target: string; headers?: string[] }[] }[] = [
      {
        kind: 'unparsable target',
        expected: 400,
        variants: [{ target: '//x:99999/ws' }, { target: '//[/ws' }],
      },
      {
        kind: 'unknown path',
        expected: 404,
        variants: [{ target: '/nope' }, { target: '/wsx?access_token=x' }],
      },
      {
        kind: 'missing token',
        expected: 401,
        variants: [{ target: '/ws' }, { target: '/ws?access_token=' }],
      },
      {
        kind: 'bad token',
        expected: 401,
        variants: [
          { target: '/ws', headers: ['Authorization: Bearer not.a.token'] },
          { target: `/ws?access_token=${revoked.token}` },
        ],
      },
    ];
    const upgrades: HostileUpgrade[] = kinds.flatMap(({ kind, expected, variants }) =>
      Array.from({ length: EACH }, (_, i) => ({
        kind,
        expected,
        attempt: { ...variants[i % variants.length]!, reset: RESET_MOMENTS[i % RESET_MOMENTS.length]! },
      })),
    );
    const { result, answers } = await bystanders(pool(upgrades, 8, (u) => rawUpgrade(port, u.attempt)));

    const outcomes = upgrades.map((u, i) => ({ ...u, result: result[i]! }));
    const wrong = (o: { expected: number; attempt: UpgradeAttempt; result: UpgradeResult }) => {
      const { status, closedByServer, timedOut } = o.result;
      if (timedOut) return true;
      if (o.attempt.reset.at === 'never') return status !== o.expected || !closedByServer;
      if (o.attempt.reset.at === 'after-answer') return status !== o.expected;
      return status !== 0 && status !== o.expected;
    };
    report('hostile upgrades', {
      upgrades: upgrades.length,
      workerDeaths: deaths(),
      statuses: histogram(outcomes.map((o) => o.result.status)),
      bystanders: histogram(answers.map((a) => a.status)),
    });
    expect(deaths()).toBe(0);
    expect(workerPids(demo.child.pid!)).toEqual(pidsBefore);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.error ?? ''}`)).toEqual([]);
    expect(
      outcomes
        .filter(wrong)
        .map((o) => `${o.kind} ${o.attempt.target} ${o.attempt.reset.at}: ${JSON.stringify(o.result)}`),
    ).toEqual([]);
  }, 120_000);

  it('a real token followed by an invalid frame closes that socket only', async () => {
    const attempts = Array.from({ length: 20 }, () =>
      rawUpgrade(port, {
        target: '/ws',
        headers: [`Authorization: Bearer ${alice.token}`],
        reset: { at: 'never' },
        afterHandshake: invalidFrame(),
      }),
    );
    const { result, answers } = await bystanders(Promise.all(attempts));
    expect(result.map((r) => [r.status, r.closedByServer])).toEqual(attempts.map(() => [101, true]));
    expect(deaths()).toBe(0);
    expect(workerPids(demo.child.pid!)).toEqual(pidsBefore);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
  }, 60_000);

  it('both workers still answer afterwards', async () => {
    const seen = new Set<string>();
    await waitFor('both worker ids', async () => {
      seen.add((await send(demo.base, { path: '/health/live' })).worker);
      return seen.size === 2;
    });
    expect(workerPids(demo.child.pid!)).toEqual(pidsBefore);
  });
});
