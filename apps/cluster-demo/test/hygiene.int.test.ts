import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, type RedisServer, startRedis, waitFor } from '@sec/testing';
import { type RunningDemo, runScript, startDemo } from './demo-process.js';
import { histogram, pool, send } from './reliability/support.js';

/**
 * Start-up and serving hygiene of the cluster: where it listens, what a busy port does, that
 * /metrics covers every worker, and that the login route holds against a concurrent burst.
 */
const PASSWORD = randomBytes(36).toString('base64url');

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('cluster-demo start-up and serving hygiene', () => {
  let redis: RedisServer;
  const env = (extra: Record<string, string> = {}) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    SEC_LOG_LEVEL: 'warn',
    WORKERS: '2',
    REDIS_URL: redis.url,
    REDIS_PASSWORD: PASSWORD,
    ...extra,
  });

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('listens on 127.0.0.1 by default and says so at start; HOST changes it', async () => {
    const demo = await startDemo(env());
    try {
      const port = Number(new URL(demo.base).port);
      await waitFor('the start-up line', async () => demo.output().includes('workers on'));
      expect(demo.output()).toMatch(
        new RegExp(`2 workers on http://127\\.0\\.0\\.1:${port} \\(HOST 127\\.0\\.0\\.1,`),
      );
      // The whole of 127/8 is loopback on Linux, but only 127.0.0.1 is bound.
      expect(await accepts('127.0.0.1', port)).toBe(true);
      expect(await accepts('127.0.0.2', port)).toBe(false);
    } finally {
      expect(await demo.stop()).toBe(0);
    }
    const everywhere = await startDemo(env({ HOST: '0.0.0.0' }));
    try {
      const port = Number(new URL(everywhere.base).port);
      await waitFor('the start-up line', async () => everywhere.output().includes('workers on'));
      expect(everywhere.output()).toContain('(HOST 0.0.0.0,');
      expect(await accepts('127.0.0.2', port)).toBe(true);
    } finally {
      expect(await everywhere.stop()).toBe(0);
    }
  });

  it('refuses an invalid HOST at start-up', async () => {
    const result = await runScript('main.js', [], env({ HOST: 'not a host!' }), 30_000);
    expect(result.output).toContain('ERR_SEC_DEMO_SETTING_INVALID');
    expect(result.output).toContain('HOST');
    expect(result.code).toBe(1);
  });

  it('a busy port is one clear error naming it and a non-zero exit, not a respawn loop', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runScript('main.js', [], env({ PORT: String(port) }), 30_000);
      expect(result.code).toBe(1);
      const lines = result.output.split('\n').filter((line) => line.includes('EADDRINUSE'));
      expect(lines).toEqual([
        `cluster-demo refused to start: cannot listen on 127.0.0.1 port ${port} (EADDRINUSE): another process is using the port. Stop it, or set PORT to a free port.`,
      ]);
      expect(result.output).not.toContain('starting a new one');
      expect(result.output).not.toContain('demo.started');
    } finally {
      squatter.close();
    }
  });

  describe('on a running cluster of 2 workers', () => {
    let demo: RunningDemo;
    beforeAll(async () => {
      // One request per client per window: every later one is a 429, counted by whichever worker answers.
      demo = await startDemo(env({ RATE_LIMIT_POINTS: '1', RATE_LIMIT_WINDOW_MS: '600000' }));
    });
    afterAll(async () => {
      await demo?.stop();
    });

    it('/metrics counts the 429s of every worker, not of the one that answers the scrape', async () => {
      const answers = await pool(
        Array.from({ length: 30 }, () => 0),
        3,
        () => send(demo.base, { path: '/anything' }),
      );
      const refused = answers.filter((a) => a.status === 429);
      expect(refused.length).toBeGreaterThanOrEqual(29);
      expect(new Set(refused.map((a) => a.worker)).size).toBe(2);
      for (let scrape = 0; scrape < 4; scrape++) {
        const metrics = await send(demo.base, { path: '/metrics' });
        expect(metrics.status).toBe(200);
        expect(metrics.body).toContain(
          `sec_ratelimit_rejected_total{limiter="global-ip"} ${refused.length}\n`,
        );
        // A gauge is merged, not summed: the closed breaker stays 0 whichever way it is read.
        expect(metrics.body).toMatch(/^sec_redis_breaker_state\{guard="[^"]+"\} 0$/m);
      }
    });
  });

  describe('login under a concurrent burst', () => {
    let demo: RunningDemo;
    beforeAll(async () => {
      demo = await startDemo(env({ RATE_LIMIT_POINTS: '1000000' }));
    });
    afterAll(async () => {
      await demo?.stop();
    });

    const login = (password: string) =>
      send(demo.base, {
        method: 'POST',
        path: '/auth/login',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bob', password }),
      });

    it('100 concurrent wrong passwords get 5 checks across both workers; the right one is then refused', async () => {
      const answers = await Promise.all(Array.from({ length: 100 }, () => login('wrong')));
      expect(histogram(answers.map((a) => a.status))).toEqual({ 401: 5, 429: 95 });
      expect((await login('bob-password')).status).toBe(429);
    });
  });
});
