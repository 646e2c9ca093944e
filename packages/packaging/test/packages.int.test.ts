import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Each public package and one export a consumer would reach for first. */
const PACKAGES = {
  'redis-guard': 'createRedisGuard',
  session: 'createSessionManager',
  'rate-limit': 'rateLimit',
  'cache-crypto': 'Fernet',
  health: 'createHealth',
} as const;

/** Third-party packages the tarballs need at run time, linked from the workspace install. */
const EXTERNALS = ['ioredis', 'express', 'jose', 'rate-limiter-flexible', 'prom-client'];

describe('published tarballs', () => {
  let work: string;
  const tarballs = new Map<string, string>();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sec-pack-'));
    const modules = join(work, 'node_modules');
    await mkdir(join(modules, '@sec'), { recursive: true });
    for (const name of Object.keys(PACKAGES)) {
      const dir = join(root, 'packages', name);
      // pnpm pack rewrites workspace:/catalog: ranges into real versions, as publishing would.
      await run('pnpm', ['pack', '--pack-destination', work], { cwd: dir });
      const file = (await readdir(work)).find((f) => f.startsWith(`sec-${name}-`) && f.endsWith('.tgz'))!;
      tarballs.set(name, join(work, file));
      await mkdir(join(modules, '@sec', name));
      await run('tar', ['-xzf', join(work, file), '-C', join(modules, '@sec', name), '--strip-components=1']);
    }
    const requireFromSession = createRequire(join(root, 'packages', 'session', 'package.json'));
    const requireFromHealth = createRequire(join(root, 'packages', 'health', 'package.json'));
    const requireFromLimit = createRequire(join(root, 'packages', 'rate-limit', 'package.json'));
    for (const name of EXTERNALS) {
      const from = [requireFromSession, requireFromHealth, requireFromLimit].find((r) => {
        try {
          r.resolve(`${name}/package.json`);
          return true;
        } catch {
          return false;
        }
      })!;
      await symlink(dirname(from.resolve(`${name}/package.json`)), join(modules, name), 'dir');
    }
    await writeFile(join(work, 'package.json'), '{"name":"consumer","private":true}');
  }, 120_000);

  afterAll(() => rm(work, { recursive: true, force: true }));

  it('sec-redis acl, installed, finds the installed packages and prints their ACL rule', async () => {
    const bin = join(work, 'node_modules', '@sec', 'redis-guard', 'bin', 'sec-redis.js');
    const { stdout } = await run(process.execPath, [bin, 'acl', '--rule-only'], { cwd: work });
    expect(stdout.trim()).toMatch(/^resetkeys resetchannels -@all \+/);
    for (const grant of [
      '~sec:sess:*',
      '~sec:user:*',
      '~sec:rl:*',
      '~cache:*',
      '&sec:session:events',
      '+wait',
      '+scan',
    ]) {
      expect(stdout).toContain(grant);
    }
  });

  describe.each(Object.entries(PACKAGES))('@sec/%s', (name, symbol) => {
    it(`loads with require() and exposes ${symbol}`, async () => {
      const script = `const m = require('@sec/${name}'); if (typeof m.${symbol} !== 'function') throw new Error('missing ${symbol}'); console.log('ok')`;
      const { stdout } = await run(process.execPath, ['-e', script], { cwd: work });
      expect(stdout.trim()).toBe('ok');
    });

    it(`loads with import and exposes ${symbol}`, async () => {
      const script = `import * as m from '@sec/${name}'; if (typeof m.${symbol} !== 'function') throw new Error('missing ${symbol}'); console.log('ok')`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: work });
      expect(stdout.trim()).toBe('ok');
    });

    it('passes publint --strict and attw (types resolve for import and require)', async () => {
      const dir = join(root, 'packages', name);
      const publint = await run('pnpm', ['exec', 'publint', '--strict'], { cwd: dir });
      expect(publint.stdout).toMatch(/All good/);
      const attw = await run(
        'pnpm',
        ['exec', 'attw', tarballs.get(name)!, '--profile', 'node16', '--format', 'table-flipped'],
        {
          cwd: join(root, 'packages', 'packaging'),
        },
      );
      expect(attw.stdout).toMatch(/No problems found/);
    }, 60_000);
  });
});
