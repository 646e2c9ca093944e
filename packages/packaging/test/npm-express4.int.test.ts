import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  markdownBlock,
  type NodeApp,
  type RedisServer,
  startNodeApp,
  startRedis,
  userEnv,
} from '@sec/testing';

// A new user's first hour, outside the workspace: an npm project on Express 4 installs the five
// packed tarballs as they would be published, with no flag and no warning, and the session and
// rate-limit README examples and the migration guide's @sec/session app run there exactly as
// written, against a real redis-server.

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PACKAGES = ['redis-guard', 'session', 'rate-limit', 'cache-crypto', 'health'] as const;

/** The first ```js block after a README heading, verbatim. */
const readmeExample = (pkg: string, heading: string) =>
  markdownBlock(join(root, 'packages', pkg, 'README.md'), heading);

describe('a fresh npm project on Express 4', () => {
  let work: string;
  let redis: RedisServer;
  const apps: NodeApp[] = [];
  let install: { stdout: string; stderr: string };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sec-npm-express4-'));
    const tarballs = join(work, 'tarballs');
    await mkdir(tarballs);
    const app = join(work, 'app');
    await mkdir(app);
    // pnpm pack rewrites workspace:/catalog: ranges into real versions, as publishing would.
    for (const name of PACKAGES) {
      await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(root, 'packages', name) });
    }
    const files = (await readdir(tarballs)).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs, f));
    expect(files).toHaveLength(PACKAGES.length);
    await writeFile(
      join(app, 'package.json'),
      '{ "name": "scratch-app", "version": "1.0.0", "private": true }\n',
    );
    install = await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        'express@4',
        'ws@8',
        '@types/express@4',
        '@types/node@20',
        ...files,
      ],
      { cwd: app, env: userEnv(), maxBuffer: 16 * 1024 * 1024 },
    );
    redis = await startRedis({ password: randomBytes(24).toString('base64url') });
  }, 240_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await redis?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const appDir = () => join(work, 'app');

  it('installs without --legacy-peer-deps and without a single warning', async () => {
    const output = `${install.stdout}\n${install.stderr}`;
    expect(output).not.toMatch(/npm warn|ERESOLVE|peer dep/i);
    // The tree is consistent: no missing or invalid peer anywhere (npm ls exits non-zero otherwise).
    const { stdout } = await run('npm', ['ls', '--all', '--json'], { cwd: appDir(), env: userEnv() });
    const tree = JSON.parse(stdout) as { problems?: string[] };
    expect(tree.problems ?? []).toEqual([]);
  }, 60_000);

  it('resolves every express in the tree to the one Express 4 of the app', async () => {
    const { stdout } = await run('npm', ['ls', 'express', '--all', '--parseable', '--long'], {
      cwd: appDir(),
      env: userEnv(),
    });
    const found = stdout.trim().split('\n');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/:express@4\.\d+\.\d+/);
  }, 60_000);

  it('`npx sec-redis` runs the installed CLI (never a registry lookup)', async () => {
    const { stdout } = await run('npx', ['--no', 'sec-redis', 'gen-key'], { cwd: appDir(), env: userEnv() });
    expect(stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}=$/);
  }, 60_000);

  it('installs the LICENSE with every package', async () => {
    const license = await readFile(join(root, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License/);
    for (const name of PACKAGES) {
      expect(await readFile(join(appDir(), 'node_modules', '@sec', name, 'LICENSE'), 'utf8')).toBe(license);
    }
  });

  it('type-checks an app against Express 4 types, with import and with require()', async () => {
    await writeFile(
      join(appDir(), 'server.mts'),
      `import express from 'express';
import { createRedisGuard, requireRedis, secErrorHandler } from '@sec/redis-guard';
import { createSessionManager, sessionRouter } from '@sec/session';
import { rateLimit } from '@sec/rate-limit';
import { cacheResponse, createEncryptedCache } from '@sec/cache-crypto';
import { createHealth, redisCheck } from '@sec/health';

const guard = createRedisGuard();
const sessions = createSessionManager({
  redis: guard,
  signingKeys: [{ kid: 'k1', secret: process.env.SESSION_SECRET! }],
  issuer: 'https://auth.example.com',
  audience: 'example-api',
});
const cache = createEncryptedCache({ redis: guard, namespace: 'app' });
const app = express();
app.use(rateLimit({ redis: guard }));
app.use('/health', createHealth({ checks: [redisCheck(guard)] }).router());
app.use('/auth', sessionRouter(sessions, { verifyCredentials: () => null }));
app.get('/me', requireRedis(guard), sessions.authenticate(), (req, res) => {
  const userId: string = req.auth!.userId;
  res.json({ userId });
});
app.get('/products', cacheResponse({ cache }), (_req, res) => {
  res.json([]);
});
app.use(secErrorHandler());
`,
    );
    await writeFile(
      join(appDir(), 'server.cts'),
      `import express = require('express');
import guardModule = require('@sec/redis-guard');
import sessionModule = require('@sec/session');

const guard = guardModule.createRedisGuard();
const sessions = sessionModule.createSessionManager({
  redis: guard,
  signingKeys: [{ kid: 'k1', secret: process.env.SESSION_SECRET! }],
  issuer: 'https://auth.example.com',
  audience: 'example-api',
});
const app = express();
app.get('/me', sessions.authenticate(), (req, res) => {
  res.json({ roles: req.auth?.roles ?? [] });
});
app.use(guardModule.secErrorHandler());
`,
    );
    const tsc = createRequire(join(root, 'packages', 'packaging', 'package.json')).resolve(
      'typescript/bin/tsc',
    );
    const result = await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        'server.mts',
        'server.cts',
      ],
      { cwd: appDir() },
    ).catch((error: { stdout: string }) => ({ stdout: error.stdout, stderr: '' }));
    expect(result.stdout).toBe('');
  }, 120_000);

  async function startExample(file: string, source: string, env: NodeJS.ProcessEnv): Promise<NodeApp> {
    await writeFile(join(appDir(), file), source);
    const app = await startNodeApp(appDir(), file, {
      NODE_ENV: 'development',
      REDIS_URL: redis.url,
      REDIS_PASSWORD: redis.password,
      ...env,
    });
    apps.push(app);
    return app;
  }

  const json = { 'content-type': 'application/json' };

  it('runs the session README example as written: login, me, step-up, sign-out-everywhere', async () => {
    const source = await readmeExample('session', '## Example');
    const adminPassword = randomBytes(12).toString('base64url');
    const app = await startExample('session-example.mjs', source, {
      SESSION_SECRET: randomBytes(48).toString('base64'),
      ADMIN_PASSWORD: adminPassword,
    });
    const wrong = await fetch(`${app.base}/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'admin', password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    const login = await fetch(`${app.base}/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'admin', password: adminPassword }),
    });
    expect(login.status).toBe(201);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const bearer = { authorization: `Bearer ${accessToken}` };
    const me = await fetch(`${app.base}/me`, { headers: bearer });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ userId: 'admin', roles: ['admin'] });
    const password = await fetch(`${app.base}/password`, { method: 'POST', headers: bearer });
    expect(await password.json()).toEqual({ changed: true });
    const others = await fetch(`${app.base}/auth/sessions/others`, { method: 'DELETE', headers: bearer });
    expect(await others.json()).toEqual({ revoked: 0 });
    const everywhere = await fetch(`${app.base}/users/admin/sign-out-everywhere`, {
      method: 'POST',
      headers: bearer,
    });
    expect(await everywhere.json()).toEqual({ revoked: 1 });
    expect((await fetch(`${app.base}/me`, { headers: bearer })).status).toBe(401);
    await app.stop();
  }, 60_000);

  it('the session example without SESSION_SECRET stops at start-up naming it', async () => {
    const source = await readmeExample('session', '## Example');
    await writeFile(join(appDir(), 'session-example.mjs'), source);
    const result = await run(process.execPath, ['session-example.mjs'], {
      cwd: appDir(),
      env: userEnv({ NODE_ENV: 'development', REDIS_URL: redis.url, REDIS_PASSWORD: redis.password }),
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('ERR_SEC_SESSION_SECRET_MISSING');
    expect(result.stderr).toContain('SESSION_SECRET');
  }, 60_000);

  it('runs the rate-limit README example as written: global limit, login brute force, per-API-key limit', async () => {
    const source = await readmeExample('rate-limit', '## Example');
    const app = await startExample('rate-limit-example.mjs', source, {});
    const attempt = (username: string, password: string) =>
      fetch(`${app.base}/login`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username, password }),
      });
    // maxConsecutiveFailsByUsernameAndIp: 5 password checks, then the pair is blocked.
    for (let i = 0; i < 5; i++) expect((await attempt('mallory', 'guess')).status).toBe(401);
    const blocked = await attempt('mallory', 'demo');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await attempt('alice', 'demo')).status).toBe(200);
    const search = await fetch(`${app.base}/api/search`, {
      method: 'POST',
      headers: { ...json, 'x-api-key': 'alice-key' },
      body: JSON.stringify({ q: 'tea' }),
    });
    expect(search.status).toBe(200);
    expect(await search.json()).toEqual({ query: 'tea', results: [] });
    expect(search.headers.get('ratelimit')).toMatch(/"global";r=\d+;t=\d+, "search";r=9;t=\d+/);
    await app.stop();
  }, 60_000);

  it('runs the migration guide’s @sec/session app as written: login, data, logout', async () => {
    const source = await markdownBlock(
      join(root, 'docs', 'migrating-from-express-session.md'),
      '### After: @sec/session',
    );
    const adminPassword = randomBytes(12).toString('base64url');
    const app = await startExample('migrated.mjs', source, {
      SESSION_SECRET: randomBytes(48).toString('base64'),
      ADMIN_PASSWORD: adminPassword,
    });
    const login = await fetch(`${app.base}/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'admin', password: adminPassword }),
    });
    expect(login.status).toBe(201);
    const cookie = { cookie: login.headers.getSetCookie()[0]!.split(';')[0]! };
    const add = await fetch(`${app.base}/cart/tea`, {
      method: 'PUT',
      headers: { ...json, ...cookie },
      body: JSON.stringify({ qty: 3 }),
    });
    expect(add.status).toBe(204);
    expect(await (await fetch(`${app.base}/cart`, { headers: cookie })).json()).toEqual({ 'cart:tea': 3 });
    expect((await fetch(`${app.base}/logout`, { method: 'POST', headers: cookie })).status).toBe(204);
    expect((await fetch(`${app.base}/cart`, { headers: cookie })).status).toBe(401);
    await app.stop();
  }, 60_000);
});
