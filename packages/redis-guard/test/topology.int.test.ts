import type { Server } from 'node:http';
import { type AddressInfo, createServer, type Socket, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  captureLogger,
  freePort,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  redisCli,
  startCluster,
  startSentinel,
  waitFor,
} from '@sec/testing';
import express from 'express';
import { Cluster, type Redis } from 'ioredis';
import type { SecureRedisClient } from '../src/client.js';
import {
  createRedisClient,
  createRedisGuard,
  type RedisGuard,
  RedisUnavailableError,
  requireRedis,
} from '../src/index.js';

// >= 32 characters, so the production rules accept it.
const PASSWORD = 'topology-Password-0123456789-abcdefghijkl';
const SENTINEL_PASSWORD = 'sentinel-Password-0123456789-abcdefghijk';
const PRODUCTION_ON_LOOPBACK = {
  NODE_ENV: 'production',
  REDIS_INSECURE_ALLOW_PLAINTEXT: 'true',
  REDIS_SINGLE_HOST: 'true',
};

async function listen(guard: RedisGuard): Promise<{ server: Server; url: string }> {
  const app = express();
  app.use(requireRedis(guard, { service: 'sessions' }));
  app.get('/write', async (_req, res) => {
    res.json({ stored: await guard.execute((c) => c.set('{app}:last', String(Date.now()))) });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/write` };
}

async function timedExecute(guard: RedisGuard): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await guard
    .execute((c) => c.set('{app}:gap', '1'))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  return { error, ms: performance.now() - started };
}

describe('Redis Cluster: 3 masters with a password, built from REDIS_CLUSTER_NODES', () => {
  let cluster: RedisClusterHandle;
  let secure: SecureRedisClient;
  let guard: RedisGuard;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, password: PASSWORD });
    const log = captureLogger();
    secure = createRedisClient(
      { REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_PASSWORD: PASSWORD, NODE_ENV: 'test' },
      { logger: log.logger },
    );
    guard = createRedisGuard({ client: secure.client, environment: 'test', logger: log.logger });
    await guard.ready();
  });
  afterAll(async () => {
    await guard?.close();
    await cluster?.stop();
  });

  it('builds a Cluster client whose description names the nodes but not the password', () => {
    expect(secure.client).toBeInstanceOf(Cluster);
    expect(secure.config.topology).toBe('cluster');
    expect(secure.description).toContain(cluster.nodeList);
    expect(String(secure.client)).not.toContain(PASSWORD);
    expect(guard.isAvailable()).toBe(true);
  });

  it('spreads keys over every master and reads them back', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `spread:${i}`);
    await Promise.all(keys.map((key, i) => guard.execute((c) => c.set(key, String(i)))));
    expect(await Promise.all(keys.map((key) => guard.execute((c) => c.get(key))))).toEqual(
      keys.map((_, i) => String(i)),
    );
    const perNode = await Promise.all(
      cluster.nodes.map(async (node) => Number(await redisCli(node, 'DBSIZE'))),
    );
    expect(perNode.every((count) => count > 0)).toBe(true);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(keys.length);
  });

  it('runs multi-key commands, transactions and Lua on hash-tagged keys', async () => {
    await guard.execute((c) => c.mset('{user:42}:a', '1', '{user:42}:b', '2'));
    expect(await guard.execute((c) => c.mget('{user:42}:a', '{user:42}:b'))).toEqual(['1', '2']);
    const replies = await guard.execute((c) => c.multi().incr('{user:42}:a').del('{user:42}:b').exec());
    expect(replies).toEqual([
      [null, 2],
      [null, 1],
    ]);
    const script = "return redis.call('GET', KEYS[1]) .. ':' .. tostring(redis.call('EXISTS', KEYS[2]))";
    expect(await guard.execute((c) => c.eval(script, 2, '{user:42}:a', '{user:42}:b'))).toBe('2:0');
  });

  it('rejects keys in different slots with CROSSSLOT, without counting it as an outage', async () => {
    await expect(guard.execute((c) => c.mget('user:1:a', 'user:2:b'))).rejects.toThrow(/CROSSSLOT/);
    expect(guard.breaker.snapshot().failureCount).toBe(0);
  });

  it('reports a wrong password by name, without the password, and never becomes ready', async () => {
    const wrong = `${PASSWORD}-wrong`;
    const log = captureLogger();
    const { client } = createRedisClient(
      { REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_PASSWORD: wrong, NODE_ENV: 'test' },
      { logger: log.logger },
    );
    const bad = createRedisGuard({ client, environment: 'test', logger: log.logger });
    try {
      await expect(bad.ready(2_000)).rejects.toMatchObject({ code: 'ERR_SEC_REDIS_CONNECT_FAILED' });
      expect(log.text()).toMatch(/WRONGPASS/);
      expect(log.text()).not.toContain(PASSWORD);
    } finally {
      client.disconnect();
      await bad.close();
    }
  });
});

describe('Redis Cluster over TLS in production (REDIS_TLS=true)', () => {
  let cluster: RedisClusterHandle;
  let guard: RedisGuard;

  beforeAll(async () => {
    cluster = await startCluster({ password: PASSWORD, tls: true });
    guard = createRedisGuard({
      env: {
        REDIS_CLUSTER_NODES: cluster.nodeList,
        REDIS_PASSWORD: PASSWORD,
        REDIS_TLS: 'true',
        REDIS_TLS_CA_CERT: cluster.tls!.caFile,
        REDIS_SINGLE_HOST: 'true',
        NODE_ENV: 'production',
      },
      logger: captureLogger().logger,
    });
  });
  afterAll(async () => {
    await guard?.close();
    await cluster?.stop();
  });

  it('verifies every node against the CA and serves reads and writes', async () => {
    expect(guard.environment).toBe('production');
    await guard.ready();
    const keys = Array.from({ length: 12 }, (_, i) => `tls:${i}`);
    await Promise.all(keys.map((key) => guard.execute((c) => c.set(key, key))));
    expect(await Promise.all(keys.map((key) => guard.execute((c) => c.get(key))))).toEqual(keys);
  });
});

describe('Redis Sentinel: master + replica + 3 sentinels, failover without restart (production)', () => {
  let sentinel: RedisSentinelHandle;
  let guard: RedisGuard;
  let http: { server: Server; url: string };
  const log = captureLogger();

  beforeAll(async () => {
    sentinel = await startSentinel({ password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
    guard = createRedisGuard({
      env: {
        ...PRODUCTION_ON_LOOPBACK,
        REDIS_SENTINELS: sentinel.sentinelList,
        REDIS_SENTINEL_NAME: sentinel.name,
        REDIS_PASSWORD: PASSWORD,
        REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
      },
      logger: log.logger,
    });
    await guard.ready();
    http = await listen(guard);
  });
  afterAll(async () => {
    http?.server.close();
    await guard?.close();
    await sentinel?.stop();
  });

  it('asks the sentinels for the master and writes there', async () => {
    expect(guard.failClosed).toBe(true);
    expect((guard.client as Redis).options.sentinels).toHaveLength(3);
    await guard.execute((c) => c.set('{user:7}:session', 'before-failover'));
    // Replication is asynchronous: without this the later kill can beat the copy to the replica.
    expect(await guard.execute((c) => (c as Redis).wait(1, 5_000))).toBe(1);
    const onMaster = await redisCli(sentinel.master, 'GET', '{user:7}:session');
    expect(onMaster.trim()).toBe('before-failover');
    expect((await fetch(http.url)).status).toBe(200);
  });

  it('fails fast while the master is down, then writes to the promoted replica with the same client', async () => {
    const client = guard.client;
    await sentinel.killMaster();
    await waitFor('the client to notice', async () => client!.status !== 'ready', 5_000);

    const calls: { error: unknown; ms: number }[] = [];
    const responses: { status: number; retryAfter: string | null }[] = [];
    // Down-after is 1 s, so the first samples are taken well inside the gap.
    for (let i = 0; i < 5 && client!.status !== 'ready'; i++) {
      calls.push(await timedExecute(guard));
      const response = await fetch(http.url);
      responses.push({ status: response.status, retryAfter: response.headers.get('retry-after') });
    }
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const call of calls) {
      expect(call.error).toBeInstanceOf(RedisUnavailableError);
      expect(call.ms).toBeLessThan(1_500);
    }
    for (const response of responses) {
      expect(response.status).toBe(503);
      expect(Number(response.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect(guard.isAvailable()).toBe(false);

    const promoted = await sentinel.waitForFailover();
    expect(promoted.port).toBe(sentinel.replica.port);
    await waitFor('the guard to recover', async () => guard.isAvailable(), 20_000);

    expect(guard.client).toBe(client);
    expect(await guard.execute((c) => c.get('{user:7}:session'))).toBe('before-failover');
    await guard.execute((c) => c.set('{user:7}:session', 'after-failover'));
    const onPromoted = await redisCli(sentinel.replica, 'GET', '{user:7}:session');
    expect(onPromoted.trim()).toBe('after-failover');
    expect((await fetch(http.url)).status).toBe(200);
    expect(log.text()).not.toContain(PASSWORD);
    expect(log.text()).not.toContain(SENTINEL_PASSWORD);
  }, 60_000);
});

describe('Redis Sentinel over TLS in production', () => {
  let sentinel: RedisSentinelHandle;
  let guard: RedisGuard;

  beforeAll(async () => {
    sentinel = await startSentinel({ password: PASSWORD, tls: true });
  });
  afterAll(async () => {
    await guard?.close();
    await sentinel?.stop();
  });

  it('reaches sentinels and master over verified TLS', async () => {
    guard = createRedisGuard({
      env: {
        REDIS_SENTINELS: sentinel.sentinelList,
        REDIS_SENTINEL_NAME: sentinel.name,
        REDIS_PASSWORD: PASSWORD,
        REDIS_TLS: 'true',
        REDIS_TLS_CA_CERT: sentinel.tls!.caFile,
        REDIS_SINGLE_HOST: 'true',
        NODE_ENV: 'production',
      },
      logger: captureLogger().logger,
    });
    await guard.ready();
    await guard.execute((c) => c.set('{tls}:k', 'v'));
    expect(await guard.execute((c) => c.get('{tls}:k'))).toBe('v');
  });
});

describe('sentinels that cannot be reached', () => {
  it('are logged once per outage, not once per reconnect attempt', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const log = captureLogger();
    const guard = createRedisGuard({
      env: {
        REDIS_SENTINELS: ports.map((port) => `127.0.0.1:${port}`).join(','),
        REDIS_SENTINEL_NAME: 'mymaster',
        NODE_ENV: 'test',
      },
      logger: log.logger,
    });
    try {
      await expect(guard.ready(2_500)).rejects.toMatchObject({ code: 'ERR_SEC_REDIS_CONNECT_FAILED' });
      const unreachable = log.messages('error').filter((m) => m.includes('All sentinels are unreachable'));
      expect(unreachable).toHaveLength(1);
    } finally {
      await guard.close();
    }
  });
});

describe('a sentinel that accepts connections but never answers', () => {
  let silent: TcpServer;
  let sentinel: RedisSentinelHandle;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    sentinel = await startSentinel({ password: PASSWORD });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    silent?.close();
    await sentinel?.stop();
  });

  it('is skipped for the next sentinel instead of stalling the connection', async () => {
    const hung = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const guard = createRedisGuard({
      env: {
        REDIS_SENTINELS: `${hung},${sentinel.sentinelList}`,
        REDIS_SENTINEL_NAME: sentinel.name,
        REDIS_PASSWORD: PASSWORD,
        NODE_ENV: 'test',
      },
      logger: captureLogger().logger,
    });
    try {
      await guard.ready(8_000);
      expect(await guard.execute((c) => c.ping())).toBe('PONG');
    } finally {
      await guard.close();
    }
  });
});
