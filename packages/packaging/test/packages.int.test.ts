import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
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

/**
 * Third-party packages the tarballs need, linked from the workspace install: every package's own
 * dependencies (read from its manifest, so a new one cannot be forgotten here), the required
 * peers, and the type packages a TypeScript consumer installs. Optional peers
 * (`@opentelemetry/api`) stay out: the packages must load without them.
 */
const EXTERNALS = [
  ...new Set([
    ...Object.keys(PACKAGES).flatMap((name) =>
      Object.keys(
        (
          JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) as {
            dependencies?: Record<string, string>;
          }
        ).dependencies ?? {},
      ).filter((dependency) => !dependency.startsWith('@sec/')),
    ),
    'ioredis',
    'express',
    'prom-client',
    'typescript',
    '@types/node',
    '@types/express',
  ]),
];

/** Runs a script with plain node in the consumer project; fails the test on a non-zero exit. */
async function node(work: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, args, { cwd: work });
}

describe('published tarballs', () => {
  let work: string;
  const tarballs = new Map<string, string>();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sec-pack-'));
    const modules = join(work, 'node_modules');
    await mkdir(join(modules, '@sec'), { recursive: true });
    await mkdir(join(modules, '@types'), { recursive: true });
    for (const name of Object.keys(PACKAGES)) {
      const dir = join(root, 'packages', name);
      // pnpm pack rewrites workspace:/catalog: ranges and applies publishConfig, as publishing would.
      await run('pnpm', ['pack', '--pack-destination', work], { cwd: dir });
      const file = (await readdir(work)).find((f) => f.startsWith(`sec-${name}-`) && f.endsWith('.tgz'))!;
      tarballs.set(name, join(work, file));
      await mkdir(join(modules, '@sec', name));
      await run('tar', ['-xzf', join(work, file), '-C', join(modules, '@sec', name), '--strip-components=1']);
    }
    // pnpm links each package's dependencies into its own node_modules.
    for (const name of EXTERNALS) {
      const from = Object.keys(PACKAGES)
        .map((pkg) => join(root, 'packages', pkg, 'node_modules', name))
        .find((dir) => existsSync(dir));
      if (!from) throw new Error(`${name} is not installed in the workspace`);
      await symlink(await realpath(from), join(modules, name), 'dir');
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
      '~sec:cache:*',
      '&sec:session:events',
      '+wait',
      '+scan',
    ]) {
      expect(stdout).toContain(grant);
    }
    // The guard's one key prefix moves every package's keys and channel.
    const shop = await run(process.execPath, [bin, 'acl', '--rule-only', '--key-prefix', 'shop:'], {
      cwd: work,
    });
    const patterns = shop.stdout
      .trim()
      .split(' ')
      .filter((t) => /^[~&]/.test(t));
    expect(patterns).toEqual([
      '~sec-redis:check:*',
      '~shop:cache:*',
      '~shop:rl:*',
      '~shop:sess:*',
      '~shop:user:*',
      '&shop:session:events',
    ]);
  });

  describe.each(Object.entries(PACKAGES))('@sec/%s', (name, symbol) => {
    it(`loads with require() and exposes ${symbol}, with no warning even under --trace-require-module`, async () => {
      const script = `const m = require('@sec/${name}'); if (typeof m.${symbol} !== 'function') throw new Error('missing ${symbol}'); console.log('ok')`;
      // Node prints a require(esm) warning for requires outside node_modules when asked to; an
      // installed package's require() entry is inside node_modules, so it stays silent.
      const { stdout, stderr } = await node(work, ['--trace-require-module=no-node-modules', '-e', script]);
      expect(stdout.trim()).toBe('ok');
      expect(stderr).toBe('');
    });

    it(`loads with import and exposes ${symbol}`, async () => {
      const script = `import * as m from '@sec/${name}'; if (typeof m.${symbol} !== 'function') throw new Error('missing ${symbol}'); console.log('ok')`;
      const { stdout } = await node(work, ['--input-type=module', '-e', script]);
      expect(stdout.trim()).toBe('ok');
    });

    it('require() and import() give the same module, so the same exported classes and functions', async () => {
      const script = `
        const required = require('@sec/${name}');
        import('@sec/${name}').then((imported) => {
          const names = Object.keys(imported).filter((key) => typeof imported[key] === 'function');
          const differ = names.filter((key) => required[key] !== imported[key]);
          console.log(JSON.stringify({ same: required === imported, functions: names.length, differ }));
        });`;
      const { stdout } = await node(work, ['-e', script]);
      expect(JSON.parse(stdout)).toEqual({ same: true, functions: expect.any(Number), differ: [] });
      expect(JSON.parse(stdout).functions).toBeGreaterThan(0);
    });

    it('ships dist only, without the development source condition', async () => {
      const manifest = JSON.parse(
        await readFile(join(work, 'node_modules', '@sec', name, 'package.json'), 'utf8'),
      );
      expect(JSON.stringify(manifest.exports)).not.toContain('@sec/source');
      expect(JSON.stringify(manifest.exports)).not.toContain('src/');
      const listing = (await run('tar', ['-tzf', tarballs.get(name)!])).stdout.split('\n');
      expect(listing.filter((file) => file.startsWith('package/src/'))).toEqual([]);
    });

    it('passes publint --strict and attw (types resolve for import and require)', async () => {
      const tarball = tarballs.get(name)!;
      const publint = await run('pnpm', ['exec', 'publint', 'run', tarball, '--strict'], {
        cwd: join(root, 'packages', 'packaging'),
      });
      expect(publint.stdout).toMatch(/All good/);
      const attw = await run('pnpm', ['exec', 'attw', tarball, '--profile', 'node16', '--format', 'json'], {
        cwd: join(root, 'packages', 'packaging'),
      });
      // node10 (no `exports` support) cannot reach subpaths such as /internal; the profile ignores it.
      const problems = (
        JSON.parse(attw.stdout) as { analysis: { problems: { kind: string; resolutionKind?: string }[] } }
      ).analysis.problems.filter((problem) => problem.resolutionKind !== 'node10');
      expect(problems).toEqual([]);
    }, 60_000);
  });

  it('the sec-redis CLI (an ES module with top-level await) runs from the installed package', async () => {
    const bin = join(work, 'node_modules', '@sec', 'redis-guard', 'bin', 'sec-redis.js');
    const password = await node(work, [bin, 'gen-password', '--env', 'test']);
    expect(password.stdout.trim()).toMatch(/^[A-Za-z0-9]{12}$/);
    const key = await node(work, [bin, 'gen-key']);
    expect(key.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}=$/);
  });

  it('without the optional @opentelemetry/api, limiter decisions, cache reads and writes and breaker transitions run untraced', async () => {
    const script = `
      let absent = false;
      try { require.resolve('@opentelemetry/api'); } catch { absent = true; }
      const { createRedisGuard } = require('@sec/redis-guard');
      const { rateLimit } = require('@sec/rate-limit');
      const { createEncryptedCache, Fernet } = require('@sec/cache-crypto');
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      const guard = createRedisGuard({ mode: 'memory', env: { NODE_ENV: 'test' }, logger: quiet });
      const limiter = rateLimit({ redis: guard, name: 'api', points: 1 });
      const cache = createEncryptedCache({ redis: guard, keys: [Fernet.generateKey()], namespace: 'n', logger: quiet });
      (async () => {
        const first = await limiter.consumeKey('k');
        const second = await limiter.consumeKey('k');
        await cache.set('a', { v: 1 });
        const read = await cache.get('a');
        for (let i = 0; i < 5; i++) guard.breaker.recordFailure('test');
        console.log(JSON.stringify({ absent, outcomes: [first.outcome, second.outcome], read, breaker: guard.breaker.state }));
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const { stdout } = await node(work, ['-e', script]);
    expect(JSON.parse(stdout)).toEqual({
      absent: true,
      outcomes: ['allowed', 'limited'],
      read: { v: 1 },
      breaker: 'open',
    });
  });

  describe('one instance of each package in a process loaded both ways', () => {
    // Each case loads half of the stack with require() and half with import(), then checks that
    // state and class identity are shared across the two.
    const both = (body: string) => `
      const cjs = { guard: require('@sec/redis-guard'), internal: require('@sec/redis-guard/internal'),
        limit: require('@sec/rate-limit'), cache: require('@sec/cache-crypto') };
      Promise.all([import('@sec/redis-guard'), import('@sec/rate-limit'), import('@sec/health')])
        .then(([redisGuard, rateLimit, health]) => { const esm = { guard: redisGuard, limit: rateLimit, health }; ${body} })
        .catch((error) => { console.error(error); process.exit(1); });`;

    it('a guard made through require() is a guard to every package loaded with import, and back', async () => {
      const script = both(`
        const quiet = { debug() {}, info() {}, warn() {}, error() {} };
        const required = cjs.guard.createRedisGuard({ mode: 'memory', env: { NODE_ENV: 'test' }, logger: quiet });
        const imported = esm.guard.createRedisGuard({ mode: 'memory', env: { NODE_ENV: 'test' }, logger: quiet });
        const limiter = esm.limit.rateLimit({ redis: required, name: 'api' });
        const check = esm.health.redisCheck(required);
        console.log(JSON.stringify({
          limiterGuard: limiter.guard === required,
          checkGuard: check.guard === required,
          internal: cjs.internal.isRedisGuard(imported) && cjs.internal.toGuard(imported) === imported,
        }));`);
      const { stdout } = await node(work, ['-e', script]);
      expect(JSON.parse(stdout)).toEqual({ limiterGuard: true, checkGuard: true, internal: true });
    });

    it('a limiter name taken through import is taken for require() callers too', async () => {
      const script = both(`
        const guard = cjs.guard.createRedisGuard({ mode: 'memory', env: { NODE_ENV: 'test' },
          logger: { debug() {}, info() {}, warn() {}, error() {} } });
        esm.limit.rateLimit({ redis: guard, name: 'api' });
        try {
          cjs.limit.rateLimit({ redis: guard, name: 'api' });
          console.log(JSON.stringify({ refused: false }));
        } catch (error) {
          console.log(JSON.stringify({ refused: error instanceof esm.guard.SecError, code: error.code }));
        }`);
      const { stdout } = await node(work, ['-e', script]);
      expect(JSON.parse(stdout)).toEqual({ refused: true, code: 'ERR_SEC_RATE_LIMIT_DUPLICATE_NAME' });
    });

    it('an error thrown by one loading is an instance of the classes the other sees', async () => {
      const script = both(`
        const results = {};
        try { cjs.guard.createRedisGuard({ mode: 'Memory' }); } catch (error) {
          results.option = error instanceof esm.guard.OptionError && error instanceof esm.guard.SecError;
        }
        try { new cjs.cache.Fernet('not a key'); } catch (error) {
          results.configuration = error instanceof esm.guard.ConfigurationError;
        }
        try { new cjs.cache.Fernet(cjs.cache.Fernet.generateKey()).decrypt('garbage'); } catch (error) {
          results.token = error instanceof esm.guard.SecError && error.code === 'ERR_SEC_INVALID_TOKEN';
        }
        console.log(JSON.stringify(results));`);
      const { stdout } = await node(work, ['-e', script]);
      expect(JSON.parse(stdout)).toEqual({ option: true, configuration: true, token: true });
    });

    it('the memory-mode warning is printed once per process, whichever way the guards were made', async () => {
      const script = both(`
        let warnings = 0;
        const logger = { debug() {}, info() {}, error() {}, warn(_obj, msg) { if (/IN-MEMORY MODE/.test(msg)) warnings++; } };
        cjs.guard.createRedisGuard({ env: { NODE_ENV: 'development' }, logger });
        esm.guard.createRedisGuard({ env: { NODE_ENV: 'development' }, logger });
        cjs.guard.createRedisGuard({ env: { NODE_ENV: 'development' }, logger });
        console.log(JSON.stringify({ warnings }));`);
      const { stdout } = await node(work, ['-e', script]);
      expect(JSON.parse(stdout)).toEqual({ warnings: 1 });
    });
  });

  describe('TypeScript consumers', () => {
    // A consumer that uses the types the way an app does, events and codes of several packages included.
    const usage = `
      const guard: RedisGuard = createRedisGuard({ mode: 'memory' });
      const limiter = rateLimit({ redis: guard, name: 'api' });
      const sessions: SessionManager | undefined = undefined;
      const revoked: SecEvent = { type: 'session.revoked', scope: 'user', count: 2 };
      const rejected: SecEvent = { type: 'ratelimit.rejected', limiter: limiter.limiterName };
      const code: SecErrorCode = 'ERR_SEC_SESSION_INVALID_TOKEN';
      guard.observe((event) => {
        if (event.type === 'breaker.transition') console.log(event.from, event.to);
      });
      export const used = [sessions, revoked, rejected, code, Fernet, createHealth];
    `;
    const imports = `
      import { createRedisGuard, type RedisGuard, type SecErrorCode, type SecEvent } from '@sec/redis-guard';
      import { rateLimit } from '@sec/rate-limit';
      import type { SessionManager } from '@sec/session';
      import { Fernet } from '@sec/cache-crypto';
      import { createHealth } from '@sec/health';
    `;

    async function typecheck(dir: string, file: string, source: string, packageType?: 'module') {
      const project = join(work, dir);
      await mkdir(project, { recursive: true });
      await writeFile(
        join(project, 'package.json'),
        JSON.stringify({ name: dir, private: true, ...(packageType && { type: packageType }) }),
      );
      await writeFile(join(project, file), source);
      const tsconfig = {
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          // Our declarations are checked too, not only the consumer's code.
          skipLibCheck: false,
          types: ['node'],
        },
        files: [file],
      };
      await writeFile(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
      const tsc = join(work, 'node_modules', 'typescript', 'bin', 'tsc');
      return run(process.execPath, [tsc, '-p', project]).catch((error: { stdout: string }) => ({
        stdout: error.stdout,
        failed: true,
      }));
    }

    it('a CommonJS project with module: node16 type-checks against the .d.cts declarations', async () => {
      const result = await typecheck('cjs-ts', 'consumer.ts', `${imports}\n${usage}`);
      expect(result.stdout).toBe('');
    }, 60_000);

    it('an ES module project with module: node16 type-checks against the .d.ts declarations', async () => {
      const result = await typecheck('esm-ts', 'consumer.ts', `${imports}\n${usage}`, 'module');
      expect(result.stdout).toBe('');
    }, 60_000);

    it('the type check can fail: an undeclared error code is refused', async () => {
      const result = await typecheck(
        'cjs-ts-bad',
        'consumer.ts',
        `import type { SecErrorCode } from '@sec/redis-guard';\nexport const code: SecErrorCode = 'ERR_SEC_NO_SUCH_CODE';\n`,
      );
      expect(result.stdout).toMatch(/ERR_SEC_NO_SUCH_CODE/);
    }, 60_000);
  });
});
