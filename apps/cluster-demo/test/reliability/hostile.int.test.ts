import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, waitFor } from '@sec/testing';
import { Redis } from 'ioredis';
import { type RunningDemo, startDemo } from '../demo-process.js';
import { fernetCases, profileKey } from './corpus-fernet.js';
import { bodyCases, type HttpContext, headerCases } from './corpus-http.js';
import { tokenCases } from './corpus-tokens.js';
import { schemeCases, urlCases, wsCases } from './corpus-urls.js';
import { decodeSegment, fernetEncrypt, hmacJwt } from './forge.js';
import { type HostileCase, type Outcome, runProbe } from './hostile-probe.js';
import {
  bearer,
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
  workerPids,
} from './support.js';

/**
 * The hostile-input corpus (generated here, not read from a file) against the demo in production:
 * none may be accepted, none may be answered 500, no worker may crash, and no secret may show up
 * in any answer or in anything the demo printed.
 */
const SECRETS = newSecrets();

interface Result {
  readonly category: string;
  readonly name: string;
  readonly outcome: Outcome;
}

describe(`hostile input corpus (${LONG ? 'long' : 'short'} form)`, () => {
  let redis: RedisServer;
  let client: Redis;
  let demo: RunningDemo;
  let pidsBefore: string[];
  let alice: LoggedIn;
  let bob: LoggedIn;
  let admin: LoggedIn;
  const results: Result[] = [];

  beforeAll(async () => {
    redis = await startRedis({ password: SECRETS.redisPassword, tls: true });
    client = new Redis({
      host: '127.0.0.1',
      port: redis.port,
      password: SECRETS.redisPassword,
      tls: { ca: redis.tls!.ca },
      maxRetriesPerRequest: 1,
    });
    // debug: whatever any logger is willing to print, the secret check below sees.
    demo = await startDemo(
      productionEnv(redis, SECRETS, { SEC_LOG_LEVEL: 'debug', RATE_LIMIT_POINTS: '1000000' }),
    );
    pidsBefore = workerPids(demo.child.pid!);
    [alice, bob, admin] = [
      await login(demo.base, 'alice'),
      await login(demo.base, 'bob'),
      await login(demo.base, 'admin'),
    ];
  }, 60_000);

  afterAll(async () => {
    client?.disconnect();
    await demo?.stop();
    await redis?.stop();
  });

  it('control: a token re-signed by our forger with the real secret is accepted, so forgeries fail on their merits', async () => {
    const [h, p] = alice.token.split('.') as [string, string];
    const resigned = hmacJwt(SECRETS.sessionSecret, decodeSegment(h), decodeSegment(p));
    expect((await send(demo.base, { path: '/api/me', headers: bearer(resigned) })).status).toBe(200);
  });

  it('sends the HTTP, header, body, URL and WebSocket cases', async () => {
    const [h, p] = alice.token.split('.') as [string, string];
    const forged = hmacJwt(randomBytes(32), decodeSegment(h), decodeSegment(p));
    const ctx: HttpContext = { alice, bob, admin, forged, host: new URL(demo.base).host };
    const tokens = tokenCases({ alice, bob, ...SECRETS }, scale(24, 300));
    const cases: HostileCase[] = [
      ...tokens.map((t) => ({
        category: `token: ${t.group}`,
        name: t.name,
        probe: { kind: 'http' as const, path: t.route, headers: bearer(t.token) },
      })),
      ...schemeCases(ctx),
      ...headerCases(ctx),
      ...bodyCases(ctx),
      ...urlCases(ctx),
      ...wsCases(ctx, tokens),
    ];
    const outcomes = await pool(cases, 4, (c) => runProbe(demo.base, c.probe));
    for (const [i, c] of cases.entries())
      results.push({ category: c.category, name: c.name, outcome: outcomes[i]! });
  }, 120_000);

  it('plants tampered Fernet entries for /api/profile in Redis; none is served', async () => {
    const profile = (who: LoggedIn) => send(demo.base, { path: '/api/profile', headers: bearer(who.token) });
    const aliceKey = profileKey('alice');
    const bobKey = profileKey('bob');
    await Promise.all([profile(alice), profile(bob)]);
    await waitFor('both profile entries', async () => (await client.exists(aliceKey, bobKey)) === 2);
    const [aliceEntry, bobEntry] = (await client.mget(aliceKey, bobKey)) as [string, string];

    // Control: an entry made with the real key and bound to alice's key is served, so a MISS below
    // means the tampered entry was refused, not that we wrote to the wrong place.
    const control = fernetEncrypt(
      SECRETS.encryptionKey,
      JSON.stringify({ key: aliceKey, ttl: 60, value: { user: 'alice', display_name: 'control' } }),
    );
    await client.set(aliceKey, control, 'EX', 60);
    const served = await profile(alice);
    expect(served.headers['x-cache']).toBe('HIT');
    expect(JSON.parse(served.body)).toEqual({ user: 'alice', display_name: 'control' });

    const cases = fernetCases({
      aliceEntry,
      bobEntry,
      aliceKey,
      bobKey,
      encryptionKey: SECRETS.encryptionKey,
    });
    for (const c of cases) {
      await client.set(aliceKey, c.value, 'EX', 60);
      const answer = await profile(alice);
      const hit = answer.headers['x-cache'] === 'HIT';
      const own = answer.status === 200 && (JSON.parse(answer.body) as { user?: unknown }).user === 'alice';
      results.push({
        category: 'fernet',
        name: c.name,
        outcome: {
          // A refused entry is a MISS: alice still gets her own, freshly made profile.
          status: answer.status,
          accepted: hit || !own,
          transcript: `${JSON.stringify(answer.headers)}\n${answer.body}`,
          ...(answer.error !== undefined && { error: answer.error }),
        },
      });
      // The MISS stores a fresh entry after answering; wait for it so it cannot overwrite the next plant.
      const planted = Buffer.from(c.value);
      if (!hit)
        await waitFor(
          'the refreshed entry',
          async () => !(await client.getBuffer(aliceKey))?.equals(planted),
        );
    }
  }, 120_000);

  it('has at least 200 cases, every one answered', () => {
    const byCategory = histogram(results.map((r) => r.category));
    report('hostile: cases by category', { total: results.length, ...byCategory });
    report('hostile: statuses', histogram(results.map((r) => r.outcome.status)));
    expect(results.length).toBeGreaterThanOrEqual(200);
    expect(
      results.filter((r) => r.outcome.status === 0).map((r) => `${r.category} ${r.name}: ${r.outcome.error}`),
    ).toEqual([]);
  });

  it('0 accepted: no 2xx on a protected route, no WebSocket opened, no tampered cache entry served', () => {
    expect(
      results.filter((r) => r.outcome.accepted).map((r) => `${r.category} ${r.name}: ${r.outcome.status}`),
    ).toEqual([]);
  });

  it('0 answered 500, and no 5xx at all (Redis is up: a 503 would mean hostile input tripped the breaker)', () => {
    expect(
      results
        .filter((r) => r.outcome.status >= 500)
        .map((r) => `${r.category} ${r.name}: ${r.outcome.status}`),
    ).toEqual([]);
  });

  it('nothing was revoked, escalated or polluted: the real sessions and roles are as before', async () => {
    const me = async (who: LoggedIn) =>
      JSON.parse((await send(demo.base, { path: '/api/me', headers: bearer(who.token) })).body);
    expect(await me(alice)).toMatchObject({ user: 'alice', roles: ['user'] });
    expect(await me(bob)).toMatchObject({ user: 'bob', roles: ['user'] });
    expect(await me(admin)).toMatchObject({ user: 'admin', roles: ['admin'] });
    // Fresh connections reach every worker: an empty login must still be refused everywhere (401,
    // or 429 once this client's failed logins are counted), which it would not be if a __proto__
    // body had polluted Object.prototype with credentials: the login limiter would then count the
    // attempt against alice, whose budget is not spent, and the login would succeed.
    const empty = await pool(
      Array.from({ length: 12 }, () => 0),
      4,
      () =>
        send(demo.base, {
          method: 'POST',
          path: '/auth/login',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }),
    );
    expect(new Set(empty.map((r) => r.worker)).size).toBe(4);
    expect(empty.filter((r) => r.status !== 401 && r.status !== 429)).toEqual([]);
  });

  it('no worker crashed', () => {
    expect(workerPids(demo.child.pid!)).toEqual(pidsBefore);
    expect(demo.output()).not.toMatch(/died/);
  });

  it('no secret in any answer or in anything the demo printed', () => {
    const everything = [demo.output(), ...results.map((r) => r.outcome.transcript)].join('\n');
    const rawKey = Buffer.from(SECRETS.encryptionKey, 'base64url');
    for (const secret of [
      SECRETS.redisPassword,
      SECRETS.sessionSecret,
      SECRETS.encryptionKey,
      SECRETS.encryptionKey.replace(/=+$/, ''),
      rawKey.toString('base64'),
      rawKey.subarray(0, 16).toString('base64url'),
      rawKey.subarray(16).toString('base64url'),
    ]) {
      expect(everything.includes(secret)).toBe(false);
    }
    report('hostile: output checked for secrets', {
      demoOutputBytes: demo.output().length,
      answerBytes: everything.length,
    });
  });
});
