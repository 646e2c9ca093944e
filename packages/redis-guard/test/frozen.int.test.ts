import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  captureLogger,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  type RedisServer,
  redisCli,
  startCluster,
  startRedis,
  startSentinel,
  waitFor,
} from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import {
  createRedisGuard,
  type Logger,
  type RedisGuard,
  requireRedis,
  secErrorHandler,
} from '../src/index.js';

// A frozen primary (a VM pause, a stuck disk) keeps its TCP connections open and its kernel keeps
// accepting new ones, but nothing answers: SIGSTOP reproduces exactly that.

const PASSWORD = 'frozen-Password-0123456789-abcdefghijklm';
const PRODUCTION_ON_LOOPBACK = {
  NODE_ENV: 'production',
  REDIS_INSECURE_ALLOW_PLAINTEXT: 'true',
  REDIS_SINGLE_HOST: 'true',
};

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly at: number;
  readonly ms: number;
}

async function listen(guard: RedisGuard): Promise<{ server: Server; url: string }> {
  const app = express();
  app.use(requireRedis(guard));
  app.get('/write', (req, res, next) => {
    const key = String(req.query.key ?? '{app}:last');
    guard.execute((c) => c.set(key, String(Date.now()))).then(() => res.json({ ok: true }), next);
  });
  app.use(secErrorHandler());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/write` };
}

/** Requests `url` back to back (a few in parallel) until stopped, recording every answer. */
function traffic(url: string, parallel = 4) {
  const answers: Answer[] = [];
  let running = true;
  let sent = 0;
  const worker = async () => {
    while (running) {
      const started = performance.now();
      // Keys without a hash tag: on a Cluster they spread over every master.
      const response = await fetch(`${url}?key=k${sent++}`, { signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      answers.push({
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        at: started,
        ms: performance.now() - started,
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const workers = Array.from({ length: parallel }, worker);
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/**
 * The longest an answer may take: the guard's 1 s command timeout plus room for a busy machine,
 * but under the 2 s of a call that waited out a second timeout (an auto-pipelined command queued
 * behind a stuck pipeline). A hang ends in the 10 s fetch timeout, which fails the test anyway.
 */
const PROMPT_MS = 1_900;

/** Every answer is a 200, or a 503 with Retry-After that came back within PROMPT_MS. */
function expectOnlySuccessOrPrompt503(answers: readonly Answer[]) {
  expect(answers.length).toBeGreaterThan(0);
  for (const answer of answers) {
    expect([200, 503]).toContain(answer.status);
    if (answer.status === 503) expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(answer.ms).toBeLessThan(PROMPT_MS);
  }
}

describe('a standalone server frozen with SIGSTOP (production)', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  let http: { server: Server; url: string };
  const log = captureLogger();

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
    guard = createRedisGuard({
      config: { url: redis.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
      environment: 'production',
      logger: log.logger,
    });
    await guard.ready();
    http = await listen(guard);
  });
  afterAll(async () => {
    http?.server.close();
    await guard?.close();
    await redis?.stop();
  });

  it('answers 503 with Retry-After within the command timeout while frozen, and serves again after SIGCONT', async () => {
    const load = traffic(http.url);
    await waitFor('traffic', async () => load.answers.length >= 4);
    redis.pause();
    const frozenAt = performance.now();
    await waitFor('the breaker to open', async () => guard.breaker.state === 'open', 10_000);
    await waitFor(
      'a few 503s',
      async () => load.answers.filter((a) => a.at > frozenAt && a.status === 503).length >= 20,
    );
    redis.resume();
    const resumedAt = performance.now();
    await waitFor(
      'service to resume',
      async () => load.answers.some((a) => a.at > resumedAt && a.status === 200),
      15_000,
    );
    await load.stop();
    const recovered = load.answers.find((a) => a.at > resumedAt && a.status === 200)!;
    console.log(
      `standalone frozen: service resumed ${Math.round(recovered.at + recovered.ms - resumedAt)} ms after SIGCONT`,
    );
    expectOnlySuccessOrPrompt503(load.answers);
    expect(log.text()).not.toContain(PASSWORD);
  }, 60_000);
});

/**
 * The guard's own client tears a silent socket down (ioredis socketTimeout); a client the app built
 * without it relies on the guard, which re-resolves a link whose calls and probe keep timing out.
 */
const SENTINEL_CLIENTS = [
  [
    'the guard’s own client',
    (sentinel: RedisSentinelHandle, logger: Logger) =>
      createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...sentinel.env }, logger }),
  ],
  [
    'an app-built ioredis client',
    (sentinel: RedisSentinelHandle, logger: Logger) =>
      createRedisGuard({
        client: new Redis({
          sentinels: [...sentinel.sentinels],
          name: sentinel.name,
          password: PASSWORD,
          commandTimeout: 1_000,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
        }),
        environment: 'production',
        env: PRODUCTION_ON_LOOPBACK,
        logger,
      }),
  ],
] as const;

describe.each(SENTINEL_CLIENTS)(
  'a Sentinel master frozen with SIGSTOP, through %s (production)',
  (client, makeGuard) => {
    let sentinel: RedisSentinelHandle;
    let guard: RedisGuard;
    let http: { server: Server; url: string };
    const log = captureLogger();

    beforeAll(async () => {
      sentinel = await startSentinel({ password: PASSWORD });
      guard = makeGuard(sentinel, log.logger);
      await guard.ready();
      http = await listen(guard);
    });
    afterAll(async () => {
      http?.server.close();
      await guard?.close();
      await sentinel?.stop();
    });

    it('leaves the frozen master for the promoted replica within 15 s of the promotion', async () => {
      const load = traffic(http.url);
      await waitFor('traffic', async () => load.answers.filter((a) => a.status === 200).length >= 4);
      sentinel.master.pause();
      const frozenAt = performance.now();
      const promoted = await sentinel.waitForFailover();
      const promotedAt = performance.now();
      expect(promoted.port).toBe(sentinel.replica.port);
      await waitFor(
        'the guard to serve from the promoted replica',
        async () => load.answers.some((a) => a.at > promotedAt && a.status === 200),
        15_000,
      );
      await load.stop();
      const first = load.answers.find((a) => a.at > promotedAt && a.status === 200)!;
      const recoveredAt = first.at + first.ms;
      console.log(
        `sentinel frozen master (${client}): promotion seen ${Math.round(promotedAt - frozenAt)} ms after SIGSTOP; ` +
          `service resumed ${Math.round(recoveredAt - promotedAt)} ms after the promotion ` +
          `(${Math.round(recoveredAt - frozenAt)} ms after SIGSTOP)`,
      );
      expect(recoveredAt - promotedAt).toBeLessThan(15_000);
      // Writes land on the promoted replica while the old master is still frozen.
      expect(readFileSync(`/proc/${sentinel.master.pid}/stat`, 'utf8').split(') ')[1]?.[0]).toBe('T');
      await guard.execute((c) => c.set('{app}:after', 'promoted'));
      expect((await redisCli({ port: promoted.port, password: PASSWORD }, 'GET', '{app}:after')).trim()).toBe(
        'promoted',
      );
      expectOnlySuccessOrPrompt503(load.answers);
      expect(log.text()).not.toContain(PASSWORD);
    }, 90_000);
  },
);

describe('a Redis Cluster master frozen with SIGSTOP (no replicas: no failover)', () => {
  let cluster: RedisClusterHandle;
  let guard: RedisGuard;
  let http: { server: Server; url: string };
  const log = captureLogger();

  beforeAll(async () => {
    cluster = await startCluster({ password: PASSWORD });
    guard = createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...cluster.env }, logger: log.logger });
    await guard.ready();
    http = await listen(guard);
  });
  afterAll(async () => {
    http?.server.close();
    await guard?.close();
    await cluster?.stop();
  });

  it('answers 503 with Retry-After while the node is frozen and serves again after SIGCONT', async () => {
    const load = traffic(http.url, 6);
    await waitFor('traffic', async () => load.answers.filter((a) => a.status === 200).length >= 6);
    const frozen = cluster.nodes[0]!;
    frozen.pause();
    const frozenAt = performance.now();
    await waitFor(
      '503s',
      async () => load.answers.filter((a) => a.at > frozenAt && a.status === 503).length >= 20,
      15_000,
    );
    frozen.resume();
    const resumedAt = performance.now();
    await waitFor(
      'every key to be served again',
      async () => {
        const recent = load.answers.filter((a) => a.at > resumedAt);
        return recent.length >= 12 && recent.slice(-12).every((a) => a.status === 200);
      },
      20_000,
    );
    await load.stop();
    const recovered = load.answers.find((a) => a.at > resumedAt && a.status === 200)!;
    console.log(
      `cluster frozen node: service resumed ${Math.round(recovered.at + recovered.ms - resumedAt)} ms after SIGCONT`,
    );
    expectOnlySuccessOrPrompt503(load.answers);
  }, 90_000);
});

describe('a Redis Cluster master frozen with SIGSTOP while its replica takes over', () => {
  let cluster: RedisClusterHandle;
  let guard: RedisGuard;
  let http: { server: Server; url: string };
  const log = captureLogger();

  beforeAll(async () => {
    cluster = await startCluster({ password: PASSWORD, replicas: 1 });
    guard = createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...cluster.env }, logger: log.logger });
    await guard.ready();
    http = await listen(guard);
  });
  afterAll(async () => {
    http?.server.close();
    await guard?.close();
    await cluster?.stop();
  });

  it('serves every slot again from the promoted replica while the old master stays frozen', async () => {
    const [frozen, witness] = cluster.nodes;
    const cli = (port: number, ...args: string[]) => redisCli({ port, password: PASSWORD }, ...args);
    expect((await cli(frozen!.port, 'ROLE')).split('\n')[0]).toBe('master');
    const load = traffic(http.url, 6);
    await waitFor('traffic', async () => load.answers.filter((a) => a.status === 200).length >= 12);
    frozen!.pause();
    const frozenAt = performance.now();
    await waitFor(
      "a replica to take over the frozen master's slots",
      async () => {
        // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> [<slot ranges>…]
        const line = (await cli(witness!.port, 'CLUSTER', 'NODES'))
          .split('\n')
          .find((l) => l.includes(`:${frozen!.port}@`));
        const fields = line?.trim().split(' ') ?? [];
        const failed = fields[2]?.split(',').includes('fail') === true;
        const info = await cli(witness!.port, 'CLUSTER', 'INFO');
        return failed && fields.length === 8 && info.includes('cluster_state:ok');
      },
      30_000,
    );
    const promotedAt = performance.now();
    await waitFor(
      'every slot to be served again',
      async () => {
        const recent = load.answers.filter((a) => a.at > promotedAt);
        return recent.length >= 24 && recent.slice(-24).every((a) => a.status === 200);
      },
      15_000,
    );
    await load.stop();
    const lastFailure = load.answers.filter((a) => a.status !== 200).at(-1);
    const recoveredAt = lastFailure ? lastFailure.at + lastFailure.ms : frozenAt;
    console.log(
      `cluster frozen master: failover seen ${Math.round(promotedAt - frozenAt)} ms after SIGSTOP; ` +
        `last 503 answered ${Math.round(recoveredAt - frozenAt)} ms after SIGSTOP`,
    );
    expect(readFileSync(`/proc/${frozen!.pid}/stat`, 'utf8').split(') ')[1]?.[0]).toBe('T');
    expectOnlySuccessOrPrompt503(load.answers);
  }, 90_000);
});
