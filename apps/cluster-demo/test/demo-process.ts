import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@sec/testing';

export const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

export interface Finished {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a dist script to completion, capturing stdout and stderr together. */
export function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 90_000,
): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(DIST, script), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export interface RunningDemo {
  readonly base: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM and the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the cluster and waits until every worker (`WORKERS`, default 4) answers `/health/live`.
 * `cwd` is the working directory of the demo (default: this process's).
 */
export async function startDemo(
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  cwd?: string,
): Promise<RunningDemo> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(DIST, 'main.js'), ...args], {
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd && { cwd }),
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`demo exited early (${child.exitCode}):\n${output}`);
    const live = await fetch(`${base}/health/live`).then(
      (r) => r.status,
      () => 0,
    );
    if (live === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // One worker answering is not all of them listening: tests that spread load need every one.
  const expected = Number(env.WORKERS ?? 4);
  const seen = new Set<string>();
  for (let i = 0; i < 400 && seen.size < expected && child.exitCode === null; i++) {
    const worker = await fetch(`${base}/health/live`, { headers: { connection: 'close' } }).then(
      (r) => r.headers.get('x-worker-id'),
      () => null,
    );
    if (worker) seen.add(worker);
    else await new Promise((r) => setTimeout(r, 25));
  }
  return {
    base,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
