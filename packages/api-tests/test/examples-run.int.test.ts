import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { WebSocket } from 'ws';
import { PUBLIC_PACKAGES, root } from './workspace.js';

// The READMEs' runnable examples and the migration guide's two apps, run exactly as printed: each
// block is written to a file and started with node (resolving the packages' builds from this
// workspace, as an app resolves them from node_modules), against a real redis-server, then driven
// over HTTP. The Express 4 install of the packed tarballs runs the session and rate-limit examples
// again from a scratch npm project (packages/packaging).

const run = promisify(execFile);
const HERE = join(root, 'packages', 'api-tests');
/** Inside this package, so the files resolve @sec/*, express, … from its node_modules. */
const DIR = join(HERE, '.examples-run');
const readme = (pkg: string) => join(root, 'packages', pkg, 'README.md');
const GUIDE = join(root, 'docs', 'migrating-from-express-session.md');

let redis: RedisServer;
const apps: NodeApp[] = [];

/** True when a package's build is missing or older than one of its sources. */
function stale(pkg: string): boolean {
  const built = join(root, 'packages', pkg, 'dist', 'index.js');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const src = join(root, 'packages', pkg, 'src');
  return readdirSync(src, { recursive: true, encoding: 'utf8' }).some(
    (file) => statSync(join(src, file)).mtimeMs > builtAt,
  );
}

beforeAll(async () => {
  // The examples import the packages' published entry points (dist/). `pnpm test` builds them
  // first (turbo's ^build); a direct jest run builds here whatever is missing or out of date.
  if (PUBLIC_PACKAGES.some(stale)) {
    await run(
      'pnpm',
      ['exec', 'turbo', 'run', 'build', '--filter=@sec/api-tests^...', '--output-logs=errors-only'],
      {
        cwd: root,
        env: userEnv({ TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' }),
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  }
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  redis = await startRedis({ password: randomBytes(24).toString('base64url') });
}, 600_000);

afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop()));
  await redis?.stop();
  await rm(DIR, { recursive: true, force: true });
});

/** Writes the block to DIR/<file> and starts it in development against the harness Redis. */
async function start(file: string, source: string, env: NodeJS.ProcessEnv = {}): Promise<NodeApp> {
  await writeFile(join(DIR, file), source);
  const app = await startNodeApp(DIR, file, {
    NODE_ENV: 'development',
    REDIS_URL: redis.url,
    REDIS_PASSWORD: redis.password,
    ...env,
  });
  apps.push(app);
  return app;
}

const JSON_BODY = { 'content-type': 'application/json' };

async function call(
  app: NodeApp,
  method: string,
  path: string,
  { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${app.base}${path}`, {
    method,
    headers: body === undefined ? headers : { ...JSON_BODY, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, body: json };
}

/** `name=value` of the response's first Set-Cookie, as a browser would send it back. */
function cookieOf(headers: Headers): Record<string, string> {
  const [first] = headers.getSetCookie();
  expect(first).toBeDefined();
  return { cookie: first!.split(';')[0]! };
}

describe('README examples, run as written', () => {
  it('@sec/redis-guard: requireRedis and guard.execute count visits', async () => {
    const app = await start('redis-guard.mjs', await markdownBlock(readme('redis-guard'), '## Example'));
    const first = await call(app, 'GET', '/api/visits');
    expect(first.status).toBe(200);
    const visits = (first.body as { visits: number }).visits;
    expect((await call(app, 'GET', '/api/visits')).body).toEqual({ visits: visits + 1 });
    await app.stop();
  }, 60_000);

  it('@sec/cache-crypto: cache-aside, invalidation and cached responses; Fernet on its own', async () => {
    const key = randomBytes(32).toString('base64url').replace(/$/, '=');
    const app = await start('cache-crypto.mjs', await markdownBlock(readme('cache-crypto'), '## Example'), {
      REDIS_ENCRYPTION_KEY: key,
    });
    expect(await call(app, 'GET', '/api/users/7')).toMatchObject({
      status: 200,
      body: { id: '7', name: 'Ada' },
    });
    expect((await call(app, 'DELETE', '/api/users/7/cache')).status).toBe(204);
    const miss = await call(app, 'GET', '/api/products');
    expect(miss).toMatchObject({ status: 200, body: { products: ['tea', 'cake'] } });
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const hit = await call(app, 'GET', '/api/products');
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.body).toEqual(miss.body);
    await app.stop();

    await writeFile(
      join(DIR, 'fernet.mjs'),
      await markdownBlock(readme('cache-crypto'), '## Example', 'js', 1),
    );
    await run(process.execPath, ['fernet.mjs'], { cwd: DIR, env: userEnv() });
  }, 60_000);

  it('@sec/health: live, ready (an optional check failing does not fail readiness) and metrics', async () => {
    const app = await start('health.mjs', await markdownBlock(readme('health'), '## Example'), {
      APP_VERSION: '1.2.3',
    });
    expect(await call(app, 'GET', '/health/live')).toMatchObject({
      status: 200,
      body: { status: 'alive', healthy: true, version: '1.2.3' },
    });
    const ready = await call(app, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect((ready.body as { services: { name: string; status: string }[] }).services).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'redis', status: 'healthy' })]),
    );
    const metrics = await call(app, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toMatch(/^# HELP /m);
    await app.stop();
  }, 60_000);

  it('@sec/rate-limit: the login budget, a per-route limit with its headers, a WebSocket upgrade', async () => {
    const app = await start('rate-limit.mjs', await markdownBlock(readme('rate-limit'), '## Example'));
    const attempt = (password: string) =>
      call(app, 'POST', '/login', { body: { username: 'mallory', password } });
    // Five failures are answered by the password check; the sixth attempt is refused before it.
    const failures = [];
    for (let i = 0; i < 6; i++) failures.push((await attempt('guess')).status);
    expect(failures).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await call(app, 'POST', '/login', { body: { username: 'ada', password: 'demo' } })).body).toEqual(
      {
        ok: true,
      },
    );

    const search = [];
    for (let i = 0; i < 11; i++) search.push(await call(app, 'POST', '/api/search', { body: { q: 'tea' } }));
    expect(search.slice(0, 10).every((answer) => answer.status === 200)).toBe(true);
    expect(search[0]!.body).toEqual({ query: 'tea', results: [] });
    const refused = search[10]!;
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-policy')).toContain('search');
    // Another API key has a budget of its own.
    expect(
      (await call(app, 'POST', '/api/search', { body: { q: 'tea' }, headers: { 'x-api-key': 'k2' } })).status,
    ).toBe(200);

    const ws = new WebSocket(`${app.base.replace('http', 'ws')}/`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.close();
    await app.stop();
  }, 60_000);

  it('@sec/session: login, me, sign-out-everywhere', async () => {
    const password = randomBytes(12).toString('base64url');
    const app = await start('session.mjs', await markdownBlock(readme('session'), '## Example'), {
      SESSION_SECRET: randomBytes(48).toString('base64'),
      ADMIN_PASSWORD: password,
    });
    expect(
      (await call(app, 'POST', '/auth/login', { body: { username: 'admin', password: 'no' } })).status,
    ).toBe(401);
    const login = await call(app, 'POST', '/auth/login', { body: { username: 'admin', password } });
    expect(login.status).toBe(201);
    const bearer = { authorization: `Bearer ${(login.body as { accessToken: string }).accessToken}` };
    expect(await call(app, 'GET', '/me', { headers: bearer })).toMatchObject({
      status: 200,
      body: { userId: 'admin', roles: ['admin'] },
    });
    expect((await call(app, 'POST', '/users/admin/sign-out-everywhere', { headers: bearer })).body).toEqual({
      revoked: 1,
    });
    expect((await call(app, 'GET', '/me', { headers: bearer })).status).toBe(401);
    await app.stop();
  }, 60_000);
});

describe('the migration guide’s app, before and after, run as written', () => {
  const password = randomBytes(12).toString('base64url');
  const env = () => ({ SESSION_SECRET: randomBytes(48).toString('base64'), ADMIN_PASSWORD: password });

  describe.each([
    ['### Before: express-session + connect-redis', 'before.mjs'],
    ['### After: @sec/session', 'after.mjs'],
  ])('%s', (heading, file) => {
    let app: NodeApp;
    beforeAll(async () => {
      app = await start(file, await markdownBlock(GUIDE, heading), env());
    }, 60_000);
    afterAll(() => app?.stop());

    const login = async () => {
      const answer = await call(app, 'POST', '/login', { body: { username: 'admin', password } });
      expect(answer).toMatchObject({ status: 201, body: { userId: 'admin' } });
      return cookieOf(answer.headers);
    };

    it('login (a wrong password is a 401), who is calling, logout', async () => {
      expect((await call(app, 'POST', '/login', { body: { username: 'admin', password: 'x' } })).status).toBe(
        401,
      );
      expect((await call(app, 'GET', '/me')).status).toBe(401);
      const cookie = await login();
      expect(await call(app, 'GET', '/me', { headers: cookie })).toMatchObject({
        status: 200,
        body: { userId: 'admin' },
      });
      expect((await call(app, 'POST', '/logout', { headers: cookie })).status).toBe(204);
      expect((await call(app, 'GET', '/me', { headers: cookie })).status).toBe(401);
    });

    it('per-session data: each session its own cart', async () => {
      const [one, two] = [await login(), await login()];
      expect((await call(app, 'PUT', '/cart/tea', { headers: one, body: { qty: 2 } })).status).toBe(204);
      expect((await call(app, 'PUT', '/cart/cake', { headers: one, body: {} })).status).toBe(204);
      const cart = (await call(app, 'GET', '/cart', { headers: one })).body as Record<string, number>;
      expect(Object.values(cart).sort()).toEqual([1, 2]);
      expect(await call(app, 'GET', '/cart', { headers: two })).toMatchObject({ status: 200, body: {} });
    });

    it('sign out everywhere ends every session of the user', async () => {
      const [one, two] = [await login(), await login()];
      const answer = await call(app, 'POST', '/sign-out-everywhere', { headers: one });
      expect(answer.status).toBe(200);
      expect((answer.body as { revoked: number }).revoked).toBeGreaterThanOrEqual(2);
      expect((await call(app, 'GET', '/me', { headers: one })).status).toBe(401);
      expect((await call(app, 'GET', '/me', { headers: two })).status).toBe(401);
    });

    if (file === 'after.mjs') {
      it('30 parallel "add to cart" requests of one session all persist', async () => {
        const cookie = await login();
        const answers = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            call(app, 'PUT', `/cart/sku-${i}`, { headers: cookie, body: { qty: i + 1 } }),
          ),
        );
        expect(answers.map((a) => a.status)).toEqual(answers.map(() => 204));
        const cart = (await call(app, 'GET', '/cart', { headers: cookie })).body as Record<string, number>;
        expect(Object.keys(cart)).toHaveLength(30);
        for (let i = 0; i < 30; i++) expect(cart[`cart:sku-${i}`]).toBe(i + 1);
      });
    }
  });
});

describe('the migration guide on a Redis outage (last: it stops the harness Redis)', () => {
  it('before: a 500 once the store gives up, the process still up; after: 503 + Retry-After', async () => {
    const password = randomBytes(12).toString('base64url');
    const env = { SESSION_SECRET: randomBytes(48).toString('base64'), ADMIN_PASSWORD: password };
    const before = await start(
      'before-outage.mjs',
      await markdownBlock(GUIDE, '### Before: express-session + connect-redis'),
      env,
    );
    const after = await start('after-outage.mjs', await markdownBlock(GUIDE, '### After: @sec/session'), env);
    const cookies: Record<string, string>[] = [];
    for (const app of [before, after]) {
      const answer = await call(app, 'POST', '/login', { body: { username: 'admin', password } });
      cookies.push(cookieOf(answer.headers));
    }
    await redis.kill();

    const [beforeMe, beforeCart] = [
      await call(before, 'GET', '/me', { headers: cookies[0]! }),
      await call(before, 'GET', '/cart', { headers: cookies[0]! }),
    ];
    expect([beforeMe.status, beforeCart.status]).toEqual([500, 500]);
    expect(before.child.exitCode).toBeNull();

    for (const path of ['/me', '/cart', '/sign-out-everywhere']) {
      const answer = await call(after, path === '/me' || path === '/cart' ? 'GET' : 'POST', path, {
        headers: cookies[1]!,
      });
      expect(answer).toMatchObject({ status: 503, body: { error: 'service_unavailable' } });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  }, 120_000);
});
