import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

export interface ThrowawayRedis {
  readonly url: string;
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

/**
 * Starts a password-protected redis-server on a free loopback port for a development demo, with
 * nothing saved to disk. The password is passed on stdin, so it never shows in the process list.
 * @example const redis = await startThrowawayRedis(); process.on('exit', () => redis.stop());
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  const password = randomBytes(24).toString('base64url');
  const child: ChildProcess = spawn('redis-server', ['-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin?.end(
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'save ""',
      'appendonly no',
      `requirepass "${password}"`,
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
    password,
    pause: () => {
      child.kill('SIGSTOP');
    },
    resume: () => {
      child.kill('SIGCONT');
    },
    stop: () => {
      child.kill('SIGTERM');
      // A stopped process keeps a pending SIGTERM until it runs again.
      child.kill('SIGCONT');
    },
  };
}
