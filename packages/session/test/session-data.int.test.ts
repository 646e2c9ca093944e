import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  aclRule,
  createRedisGuard,
  redisAccess as guardAccess,
  type RedisGuard,
  secErrorHandler,
} from '@sec/redis-guard';
import {
  captureLogger,
  PRODUCTION_ON_LOOPBACK,
  type RedisClusterHandle,
  type RedisServer,
  redisCli,
  refuseWrites,
  startCluster,
  startRedis,
  waitFor,
} from '@sec/testing';
import express from 'express';
import { userKey } from '../src/ids.js';
import {
  InvalidTokenError,
  redisAccess,
  SessionArgumentError,
  SessionDataLimitError,
  type SessionManager,
  type SessionManagerOptions,
} from '../src/index.js';
import { bearer, listen, manager, memoryGuard } from './helpers.js';

const PASSWORD = 'session-Data-Password-0123456789-abcdef';
const log = captureLogger();

/**
 * Resolves every arrival once `count` callers have arrived: handlers that read, wait here, then
 * write are all between their read and their write at the same moment — the widest window a
 * whole-record rewrite could lose a change in.
 */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    arrived += 1;
    if (arrived === count) open();
    return opened;
  };
}

/** An app whose PUT reads the session's data, waits at the gate (slow work), then writes one field. */
function dataApp(sessions: SessionManager, gate: { wait: () => Promise<void> }) {
  const app = express();
  app.use(express.json());
  // Rejections go to next(), so the app answers the same on Express 4 (compat-express4 runs this file).
  app.get('/data', sessions.authenticate(), (req, res, next) => {
    sessions
      .data(req.auth!.sessionId)
      .getAll()
      .then((all) => res.json(all), next);
  });
  app.put('/data/:field', sessions.authenticate(), (req, res, next) => {
    const data = sessions.data(req.auth!.sessionId);
    const field = req.params.field as string;
    data
      .get(field)
      .then(() => gate.wait())
      .then(() => data.set(field, (req.body as { value: unknown }).value))
      .then(() => res.status(204).end(), next);
  });
  app.use(secErrorHandler());
  return app;
}

async function put(url: string, token: string, field: string, value: unknown) {
  const response = await fetch(`${url}/data/${encodeURIComponent(field)}`, {
    method: 'PUT',
    headers: { ...bearer(token), 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: text ? (JSON.parse(text) as unknown) : undefined,
  };
}

type Topology = 'standalone' | 'cluster' | 'memory';

describe.each(['standalone', 'cluster', 'memory'] as const)('session data (%s)', (topology: Topology) => {
  let redis: RedisServer | undefined;
  let cluster: RedisClusterHandle | undefined;
  let guard: RedisGuard;
  const managers: SessionManager[] = [];

  function sessionsWith(options: Partial<SessionManagerOptions> = {}): SessionManager {
    const sessions = manager({ redis: guard, logger: log.logger, ...options });
    managers.push(sessions);
    return sessions;
  }

  /** The session's data hash as Redis holds it: whether it exists, and its time to live. */
  async function rawData(sessionId: string): Promise<{ exists: boolean; pttl: number }> {
    const dot = sessionId.lastIndexOf('.');
    const userId = sessionId.slice(0, dot);
    const key = `sec:sess:{u:${userKey(userId)}}:data:${sessionId.slice(dot + 1)}`;
    const [exists, pttl] = await guard.execute(async (c) => [await c.exists(key), await c.pttl(key)]);
    return { exists: exists === 1, pttl };
  }

  beforeAll(async () => {
    if (topology === 'standalone') {
      redis = await startRedis({ password: PASSWORD });
      guard = createRedisGuard({
        config: { url: redis.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
        environment: 'production',
        logger: log.logger,
        breaker: { probeIntervalMs: 200 },
      });
    } else if (topology === 'cluster') {
      cluster = await startCluster({ masters: 3, password: PASSWORD });
      guard = createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...cluster.env }, logger: log.logger });
    } else {
      guard = memoryGuard(log.logger);
    }
    await guard.ready(10_000);
  }, 120_000);
  afterAll(async () => {
    for (const sessions of managers) await sessions.close();
    await guard?.close();
    await Promise.all([redis?.stop(), cluster?.stop()]);
  });

  it('reads and writes JSON fields of a live session; hostile names and values are plain data', async () => {
    const sessions = sessionsWith();
    const { sessionId } = await sessions.create('ann');
    const data = sessions.data(sessionId);
    expect(await data.getAll()).toEqual({});
    await data.set('cart', [{ sku: 'a-1', qty: 2 }]);
    expect(await data.get('cart')).toEqual([{ sku: 'a-1', qty: 2 }]);
    expect(await data.get('missing')).toBeUndefined();

    // Field names that are special to JavaScript objects or to Redis are ordinary fields.
    await data.set('__proto__', { admin: true });
    await data.set('constructor', 'c');
    await data.set('a:b{c}*?', 1);
    await data.set('名前 ✓ 🙂', 'ünïcödé \u0000 \ud83d');
    await data.set('x'.repeat(256), null);
    const all = await data.getAll();
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
    expect(Object.hasOwn(all, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(all, '__proto__')?.value).toEqual({ admin: true });
    expect((all as { admin?: unknown }).admin).toBeUndefined();
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
    expect(all['名前 ✓ 🙂']).toBe('ünïcödé \u0000 \ud83d');
    expect(Object.keys(all)).toHaveLength(6);

    for (const field of ['', 'x'.repeat(257), 'é'.repeat(129), 'lone \ud800', 42 as unknown as string]) {
      await expect(data.set(field, 1)).rejects.toBeInstanceOf(SessionArgumentError);
      await expect(data.get(field)).rejects.toBeInstanceOf(SessionArgumentError);
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const value of [undefined, () => 1, Symbol('s'), 1n, cycle]) {
      await expect(data.set('bad', value)).rejects.toMatchObject({
        code: 'ERR_SEC_SESSION_INVALID_ARGUMENT',
        status: 400,
      });
    }
    expect(await data.get('bad')).toBeUndefined();

    expect(await data.delete('cart')).toBe(true);
    expect(await data.delete('cart')).toBe(false);
    await data.clear();
    expect(await data.getAll()).toEqual({});
    expect(() => sessions.data('not a session id')).toThrow(SessionArgumentError);
  });

  it('150 parallel requests writing different fields of one session, all read before any writes: every write persists', async () => {
    const sessions = sessionsWith({ sessionData: { maxFields: 200 } });
    const { accessToken, sessionId } = await sessions.create('bob');
    const gate = { wait: barrier(150) };
    const { server, url } = await listen(dataApp(sessions, gate));
    try {
      const answers = await Promise.all(
        Array.from({ length: 150 }, (_, i) => put(url, accessToken, `field-${i}`, { i })),
      );
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 204));
      const all = await sessions.data(sessionId).getAll();
      expect(Object.keys(all)).toHaveLength(150);
      for (let i = 0; i < 150; i++) expect(all[`field-${i}`]).toEqual({ i });
      const response = await fetch(`${url}/data`, { headers: bearer(accessToken) });
      expect(Object.keys((await response.json()) as object)).toHaveLength(150);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('the bounds hold under a burst: 100 new fields with room for 10 store exactly 10, the rest get 413', async () => {
    const sessions = sessionsWith({
      sessionData: { maxFields: 10, maxValueBytes: 200, maxTotalBytes: 1_000 },
    });
    const { accessToken, sessionId } = await sessions.create('cy');
    const gate = { wait: barrier(100) };
    const { server, url } = await listen(dataApp(sessions, gate));
    try {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => put(url, accessToken, `f${i}`, i)),
      );
      expect(answers.filter((a) => a.status === 204)).toHaveLength(10);
      const refused = answers.filter((a) => a.status !== 204);
      expect(refused).toHaveLength(90);
      for (const answer of refused) {
        expect(answer).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
        expect((answer.body as { message: string }).message).toMatch(/more than 10 fields/);
      }
      expect(Object.keys(await sessions.data(sessionId).getAll())).toHaveLength(10);

      // Total bytes: 100 writers of 145-byte fields (3-byte name, 142-byte JSON) into an emptied
      // session with room for 1,000 bytes: 6 fit.
      await sessions.data(sessionId).clear();
      gate.wait = barrier(100);
      const big = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          put(url, accessToken, `g${String(i % 50).padStart(2, '0')}`, 'v'.repeat(140)),
        ),
      );
      expect(big.every((a) => a.status === 204 || a.status === 413)).toBe(true);
      const stored = await sessions.data(sessionId).getAll();
      const bytes = Object.entries(stored).reduce(
        (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(JSON.stringify(value)),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(1_000);
      expect(Object.keys(stored)).toHaveLength(6);
      expect(big.filter((a) => a.status === 413).length).toBeGreaterThan(0);

      // Hostile names over HTTP: a clean 400 for what cannot be a field, data for the rest.
      expect(await put(url, accessToken, 'n'.repeat(300), 1)).toMatchObject({
        status: 400,
        body: { error: 'invalid_request' },
      });
      expect((await put(url, accessToken, '__proto__', { admin: true })).status).toBe(204);
      const echoed = await (await fetch(`${url}/data`, { headers: bearer(accessToken) })).text();
      expect(echoed).toContain('"__proto__":{"admin":true}');
      expect(await sessions.data(sessionId).delete('__proto__')).toBe(true);
      const tooBig = await put(url, accessToken, 'one', 'v'.repeat(199));
      expect(tooBig).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
      await expect(sessions.data(sessionId).set('one', 'v'.repeat(199))).rejects.toMatchObject({
        limit: 'valueBytes',
        max: 200,
      });
      await expect(sessions.data(sessionId).set('zz', 'v'.repeat(198))).rejects.toMatchObject({
        limit: 'totalBytes',
      });
      expect(SessionDataLimitError).toBeDefined();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('data goes with its session: revoke, revoke-all, sign-out-others and eviction delete it', async () => {
    let clock = Date.now();
    const sessions = sessionsWith({ maxSessionsPerUser: 3, now: () => clock });
    const gone = async (sessionId: string) => {
      await expect(sessions.data(sessionId).get('k')).rejects.toBeInstanceOf(InvalidTokenError);
      await expect(sessions.data(sessionId).set('k', 1)).rejects.toMatchObject({ status: 401 });
      await expect(sessions.data(sessionId).delete('k')).rejects.toBeInstanceOf(InvalidTokenError);
      await expect(sessions.data(sessionId).clear()).rejects.toBeInstanceOf(InvalidTokenError);
      if (topology !== 'memory') expect((await rawData(sessionId)).exists).toBe(false);
    };
    const fill = async () => {
      const created = [];
      for (let i = 0; i < 3; i++) {
        clock += 1;
        const s = await sessions.create('dee');
        await sessions.data(s.sessionId).set('k', i);
        if (topology !== 'memory') expect((await rawData(s.sessionId)).exists).toBe(true);
        created.push(s.sessionId);
      }
      return created;
    };

    const [a, b, c] = await fill();
    // At the cap the least recently used session (a) is evicted with its data.
    clock += 1;
    const d = (await sessions.create('dee')).sessionId;
    await gone(a!);
    expect(await sessions.data(b!).get('k')).toBe(1);
    expect(await sessions.revoke(b!)).toBe(true);
    await gone(b!);
    expect(await sessions.data(c!).get('k')).toBe(2);
    expect(await sessions.revokeOtherSessions(d)).toBe(1);
    await gone(c!);
    await sessions.data(d).set('k', 'd');
    expect(await sessions.revokeAllForUser('dee')).toBe(1);
    await gone(d);

    const again = await fill();
    expect(await sessions.revokeAllForUser('dee')).toBe(3);
    for (const id of again) await gone(id);
  });

  it('a revoke racing 100 writers: no write outlives the revoke', async () => {
    const sessions = sessionsWith({ sessionData: { maxFields: 200 } });
    const { sessionId } = await sessions.create('eve');
    const data = sessions.data(sessionId);
    const writes = Array.from({ length: 100 }, (_, i) =>
      (async () => {
        // Stagger the writers around the revoke with real round trips, not timers.
        for (let hop = 0; hop < i % 5; hop++) await data.get('x');
        await data.set(`w${i}`, i);
      })(),
    );
    const revoked = sessions.revoke(sessionId);
    const results = await Promise.allSettled(writes);
    expect(await revoked).toBe(true);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(InvalidTokenError);
    }
    await expect(data.getAll()).rejects.toBeInstanceOf(InvalidTokenError);
    if (topology !== 'memory') expect((await rawData(sessionId)).exists).toBe(false);
  });

  it('expires with the session: its TTL is the session’s deadline, and touch slides both', async () => {
    let clock = Date.now();
    const sessions = sessionsWith({ idleTimeoutMs: 60_000, now: () => clock });
    const { sessionId } = await sessions.create('fay');
    const data = sessions.data(sessionId);
    await data.set('k', 'v');
    if (topology !== 'memory') {
      const { pttl } = await rawData(sessionId);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(60_000);
    }
    // 40 s later (on the manager's clock) a write leaves the data 20 s, the session's remaining life.
    clock += 40_000;
    await data.set('k2', 'v2');
    if (topology !== 'memory') expect((await rawData(sessionId)).pttl).toBeLessThanOrEqual(20_000);
    // A touch slides the session's deadline to 60 s from now, and the data's with it.
    expect(await sessions.touch(sessionId)).toBe(true);
    if (topology !== 'memory') expect((await rawData(sessionId)).pttl).toBeGreaterThan(20_000);
    expect(await data.get('k')).toBe('v');
    clock += 61_000;
    await expect(data.get('k')).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(data.set('k', 'late')).rejects.toBeInstanceOf(InvalidTokenError);
  });

  if (topology === 'standalone') {
    it('Redis refusing writes, then down: 503 with Retry-After, never a 500 or a lost session', async () => {
      const sessions = sessionsWith();
      const { accessToken, sessionId } = await sessions.create('gus');
      const gate = { wait: async () => undefined };
      const { server, url } = await listen(dataApp(sessions, gate));
      try {
        const restore = await refuseWrites(redis!, 'OOM');
        const refused = await put(url, accessToken, 'k', 1);
        expect(refused.status).toBe(503);
        expect(Number(refused.retryAfter)).toBeGreaterThan(0);
        await restore();
        await waitFor(
          'writes to be accepted again',
          async () => (await put(url, accessToken, 'k', 2)).status === 204,
        );
        expect(await sessions.data(sessionId).get('k')).toBe(2);

        await redis!.kill();
        const down = await Promise.all(
          Array.from({ length: 100 }, (_, i) => put(url, accessToken, `k${i}`, i)),
        );
        for (const answer of down) {
          expect(answer.status).toBe(503);
          expect(Number(answer.retryAfter)).toBeGreaterThan(0);
        }
        await expect(sessions.data(sessionId).get('k')).rejects.toMatchObject({ status: 503 });
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  }
});

describe('sessionData options', () => {
  it('are validated at creation, with defaults and typo suggestions', () => {
    const guard = memoryGuard(log.logger);
    const make = (sessionData: unknown) =>
      manager({ redis: guard, sessionData: sessionData as SessionManagerOptions['sessionData'] });
    expect(() => make({ maxField: 3 })).toThrow(/did you mean "maxFields"/);
    expect(() => make({ maxFields: 0 })).toThrow(/maxFields.*1 to 1000/);
    expect(() => make({ maxTotalBytes: 2 * 1024 * 1024 })).toThrow(/maxTotalBytes/);
    expect(() => make({ maxValueBytes: 2_000, maxTotalBytes: 1_000 })).toThrow(
      /must not exceed "maxTotalBytes"/,
    );
    expect(() => make('big')).toThrow(/sessionData/);
    const small = make({ maxTotalBytes: 100 });
    void small.close();
  });
});

describe('session data as the least-privilege ACL user of redisAccess()', () => {
  it('every data operation and every removal runs with nothing denied', async () => {
    const password = 'session-Data-Acl-Password-0123456789-abcdef';
    const server = await startRedis({
      password: PASSWORD,
      users: [{ name: 'app', password, rules: aclRule([guardAccess(), redisAccess()]) }],
    });
    const guard = createRedisGuard({
      config: { url: server.url, username: 'app', password, insecureAllowPlaintext: true, singleHost: true },
      environment: 'test',
      logger: log.logger,
    });
    const sessions = manager({ redis: guard, logger: log.logger, maxSessionsPerUser: 2 });
    try {
      await guard.ready();
      const [a, b] = [await sessions.create('ida'), await sessions.create('ida')];
      for (const { sessionId } of [a, b]) {
        const data = sessions.data(sessionId);
        await data.set('k', { v: 1 });
        await data.set('j', 2);
        expect(await data.get('k')).toEqual({ v: 1 });
        expect(await data.getAll()).toEqual({ k: { v: 1 }, j: 2 });
        expect(await data.delete('j')).toBe(true);
        expect(await sessions.touch(sessionId)).toBe(true);
      }
      await sessions.data(a.sessionId).clear();
      const c = await sessions.create('ida'); // evicts a
      await sessions.data(c.sessionId).set('k', 3);
      expect(await sessions.revokeOtherSessions(c.sessionId)).toBe(1);
      expect(await sessions.revoke(c.sessionId)).toBe(true);
      expect(await sessions.revokeAllForUser('ida')).toBe(0);
      const denied = await redisCli({ port: server.port, password: PASSWORD }, 'ACL', 'LOG');
      expect(denied.trim()).toBe('');
    } finally {
      await sessions.close();
      await guard.close();
      await server.stop();
    }
  });
});
