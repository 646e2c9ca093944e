import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { freePort, waitFor } from '@sec/testing';

// Ctrl-C in a terminal sends SIGINT to every process of the foreground group: pnpm, the shells
// it runs scripts in, the primary, the workers and the throwaway redis-server, all at once. The
// demo must then stop with exit code 0 and without pnpm's "Command failed" lines, whatever
// moment the key is pressed. The test runs what `pnpm demo` runs after its build step, in a
// process group of its own, and signals the whole group as a terminal does.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const demoScript: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.demo;
const BUILD_STEP = /^turbo run build [^&]*&& /;
const FAILURE = /ELIFECYCLE|ERR_PNPM|Command failed/;

interface Group {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

async function startGroup(): Promise<Group> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    PORT: String(await freePort()),
    WORKERS: '2',
  };
  // No Redis configured: the demo starts its own throwaway redis-server, as on a first run.
  for (const name of Object.keys(env)) if (name.startsWith('REDIS_') || name === 'STORE') delete env[name];
  const child = spawn('sh', ['-c', demoScript.replace(BUILD_STEP, '')], {
    cwd: root,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Ctrl-C on `pnpm demo`', () => {
  let group: Group | undefined;
  afterEach(async () => {
    if (group?.child.pid && groupAlive(group.child.pid)) process.kill(-group.child.pid, 'SIGKILL');
    group = undefined;
  });

  it('`pnpm demo` hands the terminal to the demo (exec), so no shell in between dies of the signal', () => {
    expect(demoScript).toMatch(BUILD_STEP);
    expect(demoScript.replace(BUILD_STEP, '')).toBe('exec pnpm --filter @sec/cluster-demo start');
  });

  // Each marker is a line the primary prints on entering that phase; the signal follows at once.
  const cases = [
    ['while it serves', '"event":"demo.started"'],
    ['during the start-up checks', '"event":"demo.redis.started"'],
    ['while the workers start', '"event":"service.dependency.check"'],
  ] as const;

  it.each(cases)(
    '%s: exit code 0, no failure lines, no process left behind',
    async (_when, marker) => {
      group = await startGroup();
      const { child } = group;
      await waitFor(`"${marker}" in the demo's output`, async () => group!.output().includes(marker), 60_000);
      process.kill(-child.pid!, 'SIGINT');
      const { code, signal } = await group.exited;
      expect({ code, signal, failure: FAILURE.exec(group.output())?.[0] ?? null }).toEqual({
        code: 0,
        signal: null,
        failure: null,
      });
      if (marker.includes('demo.started')) expect(group.output()).not.toContain('"level":"error"');
      // The workers and the throwaway redis-server were in the group too: all of them end.
      await waitFor('every process of the group to exit', async () => !groupAlive(child.pid!), 15_000);
    },
    90_000,
  );
});
