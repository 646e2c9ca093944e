import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

// `sec-redis` is not a published package name, so `npx sec-redis` in a clone asks the registry
// and fails. The root lists @sec/redis-guard as a dev dependency, so pnpm links its bin there:
// `pnpm exec sec-redis …` from the repository root, as the README says.

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('sec-redis from a clone of the repository', () => {
  it('`pnpm exec sec-redis` runs from the repository root', async () => {
    const key = await run('pnpm', ['exec', 'sec-redis', 'gen-key'], { cwd: root });
    expect(key.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    const password = await run('pnpm', ['exec', 'sec-redis', 'gen-password', '--env', 'production'], {
      cwd: root,
    });
    expect(password.stdout.trim()).toHaveLength(48);
  }, 60_000);

  it('before `pnpm build`, the bin says to build rather than print a module-not-found trace', async () => {
    const work = await mkdtemp(join(tmpdir(), 'sec-bin-'));
    try {
      await mkdir(join(work, 'bin'));
      await copyFile(
        join(root, 'packages', 'redis-guard', 'bin', 'sec-redis.js'),
        join(work, 'bin', 'sec-redis.js'),
      );
      const result = await run(process.execPath, [join(work, 'bin', 'sec-redis.js'), 'gen-key']).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('sec-redis: @sec/redis-guard is not built yet. Run `pnpm build` first.\n');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
