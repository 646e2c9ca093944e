import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAccess as cacheAccess } from '@sec/cache-crypto';
import { redisAccess as rateLimitAccess } from '@sec/rate-limit';
import { aclRule, redisAccess as guardAccess } from '@sec/redis-guard';
import { redisAccess as sessionAccess } from '@sec/session';
import { CACHE_NAMESPACE } from './app.js';

export interface ThrowawayRedis {
  readonly url: string;
  /** The least-privilege ACL user the demo connects as. */
  readonly username: string;
  readonly password: string;
  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, like a stuck host. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
  stop(): void;
}

/** True when a `redis-server` binary is on the PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The packages' own description of what they send, as `npx sec-redis acl` prints it. */
function demoAclRule(): string {
  return aclRule([
    guardAccess({ auditTrail: true }),
    sessionAccess(),
    rateLimitAccess(),
    cacheAccess({ namespaces: [CACHE_NAMESPACE] }),
  ]);
}

/**
 * Starts a redis-server on a free loopback port for a development demo, set up as production
 * should be, so the start-up audit has nothing to warn about: the demo connects as a
 * least-privilege ACL user (the default user is off), noeviction, and an append-only file in a
 * temporary directory that stop() removes. The password is passed on stdin, so it never shows in
 * the process list.
 * @example const redis = await startThrowawayRedis(); process.on('exit', () => redis.stop());
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  const username = 'demo';
  const password = randomBytes(24).toString('base64url');
  const dir = mkdtempSync(join(tmpdir(), 'cluster-demo-redis-'));
  const child: ChildProcess = spawn('redis-server', ['-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin?.end(
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir "${dir}"`,
      'save ""',
      'appendonly yes',
      'appendfsync everysec',
      'maxmemory-policy noeviction',
      'user default off',
      `user ${username} on >${password} ${demoAclRule()}`,
      'logfile ""',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)),
    );
  });
  child.stdout?.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    username,
    password,
    pause: () => {
      child.kill('SIGSTOP');
    },
    resume: () => {
      child.kill('SIGCONT');
    },
    stop: () => {
      // Killed outright (SIGKILL also ends a paused server), so nothing writes to the directory
      // once it is being removed.
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
