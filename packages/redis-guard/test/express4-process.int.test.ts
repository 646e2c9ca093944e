import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, refuseWrites, startRedis, waitFor } from '@sec/testing';

// The README's example as a user runs it: plain Node, Express 4, `require()` of the built package.
// Rejections handed to next() end in a 503 and the process serves on; the naive async handler,
// for contrast, leaves an unhandled rejection that ends the process.

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

const app = (handler: string) => `
const express = require('express4');
const { createRedisGuard, secErrorHandler } = require('@sec/redis-guard');
const guard = createRedisGuard();
const app = express();
app.get('/api/visits', ${handler});
app.get('/alive', (_req, res) => res.json({ alive: true }));
app.use(secErrorHandler());
guard.ready().then(() => {
  const server = app.listen(0, '127.0.0.1', () => console.log('port=' + server.address().port));
});
`;

const README_HANDLER = `(_req, res, next) => {
  guard.execute((redis) => redis.incr('visits')).then((visits) => res.json({ visits }), next);
}`;
const NAIVE_HANDLER = `async (_req, res) => {
  res.json({ visits: await guard.execute((redis) => redis.incr('visits')) });
}`;

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  exited(): boolean;
}

async function run(redis: RedisServer, handler: string): Promise<Running> {
  const child = spawn(process.execPath, ['-e', app(handler)], {
    cwd: packageDir,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', REDIS_URL: redis.url, SEC_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitFor('the app to listen', async () => /port=\d+/.test(output), 15_000);
  const port = /port=(\d+)/.exec(output)![1];
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    exited: () => child.exitCode !== null || child.signalCode !== null,
  };
}

describe('the README example on Express 4, in a real process', () => {
  let redis: RedisServer;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await redis?.stop();
  });

  it('answers a refused write with 503 + Retry-After and keeps serving', async () => {
    const running = await run(redis, README_HANDLER);
    children.push(running.child);
    const restore = await refuseWrites(redis, 'OOM');
    try {
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${running.url}/api/visits`);
        expect(response.status).toBe(503);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(await response.json()).toMatchObject({ error: 'service_unavailable', service: 'redis' });
      }
    } finally {
      await restore();
    }
    expect(running.exited()).toBe(false);
    expect((await fetch(`${running.url}/alive`)).status).toBe(200);
    expect((await fetch(`${running.url}/api/visits`)).status).toBe(200);
  });

  it('for contrast: the naive async handler is not caught by Express 4 and the process dies', async () => {
    const running = await run(redis, NAIVE_HANDLER);
    children.push(running.child);
    const restore = await refuseWrites(redis, 'OOM');
    try {
      await fetch(`${running.url}/api/visits`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      await waitFor('the process to die of the unhandled rejection', async () => running.exited(), 10_000);
    } finally {
      await restore();
    }
  });
});
