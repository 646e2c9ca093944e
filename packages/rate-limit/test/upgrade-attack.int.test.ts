import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  RESET_MOMENTS,
  type RedisServer,
  rawUpgrade,
  startRedis,
  type UpgradeAttempt,
  waitFor,
} from '@sec/testing';

/**
 * guardUpgrade in front of a careless 'upgrade' listener (fixtures/upgrade-server.mjs), in its own
 * process: unparsable targets, a listener that throws, resets before, during and after the answer
 * and during the limiter's decision. The process must outlive all of them and keep serving.
 */
const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'upgrade-server.mjs');
const built = existsSync(join(here, '..', 'dist', 'index.js'));
const EACH = 50;
// The fixture runs production rules: a password, and the loopback relaxations declared.
const PASSWORD = 'upgrade-Attack-Password-0123456789abcdef';

interface Attack {
  readonly name: string;
  /** The status a client that reads the answer gets. */
  readonly expected: number;
  readonly attempt: Omit<UpgradeAttempt, 'reset'>;
}

const ATTACKS: readonly Attack[] = [
  { name: 'unparsable target //x:99999/ws', expected: 0, attempt: { target: '//x:99999/ws' } },
  { name: 'unparsable target //[/ws', expected: 0, attempt: { target: '//[/ws' } },
  { name: 'listener that throws', expected: 0, attempt: { target: '/throw' } },
  {
    name: 'listener that answers late, without an error listener',
    expected: 401,
    attempt: { target: '/slow' },
  },
  { name: 'unknown path', expected: 404, attempt: { target: '/nope' } },
  {
    name: 'limiter decision held open',
    expected: 404,
    attempt: { target: '/nope', headers: ['X-Delay: 3'] },
  },
  {
    name: 'over the limit (429)',
    expected: 429,
    attempt: { target: '/ws', headers: ['X-Bucket: attacker'] },
  },
];

(built ? describe : describe.skip)('guardUpgrade under hostile upgrades (run `pnpm build` first)', () => {
  let redis: RedisServer;
  let child: ChildProcess;
  let port: number;
  let output = '';

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
    child = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, REDIS_PORT: String(redis.port), REDIS_PASSWORD: PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      'the fixture to listen',
      async () => /listening \d+/.test(output) || child.exitCode !== null,
    );
    port = Number(/listening (\d+)/.exec(output)?.[1]);
    expect(port).toBeGreaterThan(0);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await redis?.stop();
  });

  it(`${EACH} of each, reset at every moment: the process survives and every bystander is answered`, async () => {
    const pid = child.pid;
    // Spend the attacker's budget (5 upgrades), so that every later attempt in that bucket is a 429.
    for (let i = 0; i < 5; i++) {
      const opened = await rawUpgrade(port, {
        target: '/ws',
        headers: ['X-Bucket: attacker'],
        reset: { at: 'after-answer' },
      });
      expect(opened.status).toBe(101);
    }
    const bystanders: number[] = [];
    let done = false;
    const loop = (async () => {
      while (!done) {
        bystanders.push(
          await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } }).then(
            (r) => r.status,
            () => 0,
          ),
        );
      }
    })();
    const wrong: string[] = [];
    for (const attack of ATTACKS) {
      await Promise.all(
        Array.from({ length: EACH }, async (_, i) => {
          const reset = RESET_MOMENTS[i % RESET_MOMENTS.length]!;
          const result = await rawUpgrade(port, { ...attack.attempt, reset });
          // A refusal must also be closed by the server; a destroyed socket has no status at all.
          const ok =
            !result.timedOut &&
            (reset.at !== 'never' || (result.status === attack.expected && result.closedByServer)) &&
            (reset.at !== 'after-answer' || attack.expected === 0 || result.status === attack.expected);
          if (!ok) wrong.push(`${attack.name} / ${reset.at}: ${JSON.stringify(result)}`);
        }),
      );
    }
    done = true;
    await loop;
    expect(child.exitCode).toBeNull();
    expect(child.pid).toBe(pid);
    expect(output).not.toMatch(/Error|ECONNRESET/);
    expect(wrong).toEqual([]);
    expect(bystanders.length).toBeGreaterThan(0);
    expect(bystanders.filter((status) => status !== 200)).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
  }, 60_000);
});
