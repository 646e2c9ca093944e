import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, waitFor } from '@sec/testing';
import { WebSocket } from 'ws';
import { runScript, startDemo } from './demo-process.js';

const PASSWORD = randomBytes(36).toString('base64url');
const SECRETS = {
  SESSION_SECRET: randomBytes(48).toString('base64url'),
  REDIS_ENCRYPTION_KEY: `${randomBytes(32).toString('base64url')}=`,
};
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, WORKERS: '4', SEC_LOG_LEVEL: 'warn' };

describe('cluster-demo', () => {
  let tls: RedisServer;
  let plain: RedisServer;
  beforeAll(async () => {
    [tls, plain] = await Promise.all([
      startRedis({ password: PASSWORD, tls: true }),
      startRedis({ password: PASSWORD }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([tls?.stop(), plain?.stop()]);
  });

  const production = () => ({
    ...baseEnv,
    ...SECRETS,
    NODE_ENV: 'production',
    REDIS_URL: tls.url,
    REDIS_PASSWORD: PASSWORD,
    REDIS_TLS_CA_CERT: tls.tls!.caFile,
    REDIS_SINGLE_HOST: 'true',
    DEMO_USERS: 'alice:alice-password:user,bob:bob-password:user,admin:admin-password:admin',
  });
  const development = () => ({
    ...baseEnv,
    NODE_ENV: 'development',
    REDIS_URL: plain.url,
    REDIS_PASSWORD: PASSWORD,
  });

  it('demo:check passes on 4 production workers over TLS: revocation, revoke-all and role changes everywhere at once', async () => {
    const { code, output } = await runScript('check.js', [], production());
    expect(output).toContain(
      'PASS: revocation, revoke-all, open WebSockets and role changes took effect on every worker at once',
    );
    for (const id of ['1', '2', '3', '4']) expect(output).toContain(`worker ${id}`);
    expect(output).toMatch(/revoked session, at once\s+401\s+401 ok\s+401 ok\s+401 ok\s+401 ok/);
    expect(output).toMatch(/open WebSocket, 1 s after revoke via worker \d\s+1008(\s+1008 ok){4}/);
    expect(output).not.toContain(PASSWORD);
    expect(code).toBe(0);
  });

  it('demo:check --store memory detects the original bug: a revoked session still accepted by another worker', async () => {
    const { code, output } = await runScript('check.js', ['--store', 'memory'], {
      ...baseEnv,
      NODE_ENV: 'development',
    });
    expect(output).toMatch(/revoked session, at once: expected 401 on every worker, got 200 on worker \d/);
    expect(output).toContain('FAIL');
    expect(code).toBe(1);
  });

  it.each([
    [
      'plaintext Redis',
      { REDIS_URL: 'redis://redis.internal:6379' },
      'ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION',
    ],
    ['a short password', { REDIS_PASSWORD: 'short-password' }, 'ERR_SEC_REDIS_PASSWORD_TOO_SHORT'],
    ['no DEMO_USERS', { DEMO_USERS: '' }, 'ERR_SEC_DEMO_SETTING_MISSING'],
    ['no SESSION_SECRET', { SESSION_SECRET: '' }, 'ERR_SEC_DEMO_SETTING_MISSING'],
    ['--store memory', { STORE: 'memory' }, 'ERR_SEC_MEMORY_MODE_IN_PRODUCTION'],
  ])(
    'production refuses to start with %s, exiting non-zero with the code',
    async (_label, override, code) => {
      const result = await runScript('main.js', [], { ...production(), ...override }, 30_000);
      expect(result.output).toContain(code);
      expect(result.output).toContain('refused to start');
      expect(result.output).not.toContain(PASSWORD);
      expect(result.code).toBe(1);
    },
  );

  it('production refuses to start while Redis is down (start-up health gate)', async () => {
    const down = await startRedis({ password: PASSWORD, tls: true });
    await down.kill();
    const env = { ...production(), REDIS_URL: down.url, REDIS_TLS_CA_CERT: down.tls!.caFile };
    const result = await runScript('main.js', [], env, 30_000);
    await down.stop();
    expect(result.output).toMatch(/refused to start: .*redis/i);
    expect(result.code).toBe(1);
  });

  it('production refuses to start on a Redis that evicts (allkeys-lru), naming maxmemory-policy; on noeviction it starts and shows the audit', async () => {
    const evicting = await startRedis({
      password: PASSWORD,
      tls: true,
      config: { 'maxmemory-policy': 'allkeys-lru' },
    });
    try {
      const env = { ...production(), REDIS_URL: evicting.url, REDIS_TLS_CA_CERT: evicting.tls!.caFile };
      const refused = await runScript('main.js', [], env, 30_000);
      expect(refused.output).toMatch(/cluster-demo refused to start: .*maxmemory-policy is allkeys-lru/);
      expect(refused.output).toContain('[ERR_SEC_REDIS_EVICTION_POLICY]');
      expect(refused.output).toContain('REDIS_ACCEPT_EVICTION=true');
      expect(refused.output).not.toContain('demo.started');
      expect(refused.output).not.toContain(PASSWORD);
      expect(refused.code).toBe(1);
    } finally {
      await evicting.stop();
    }

    const demo = await startDemo({ ...production(), WORKERS: '2' });
    try {
      let posture: { rules?: { rule: string; status: string }[] } = {};
      await waitFor('a worker to show the audit', async () => {
        const body = (await (await fetch(`${demo.base}/health/detailed`)).json()) as {
          services: { posture: typeof posture }[];
        };
        posture = body.services[0]!.posture;
        return posture.rules !== undefined;
      });
      expect(posture.rules!.find((r) => r.rule === 'eviction')?.status).toBe('pass');
      expect(demo.output()).not.toContain(PASSWORD);
    } finally {
      expect(await demo.stop()).toBe(0);
    }
  });

  it('development without REDIS_URL starts a throwaway Redis set up to pass the audit: its own ACL user, noeviction, AOF', async () => {
    const demo = await startDemo({ ...baseEnv, NODE_ENV: 'development', WORKERS: '2' });
    try {
      await waitFor('the start-up line', async () => demo.output().includes('workers on'));
      expect(demo.output()).toContain('started a throwaway redis-server');
      const findings = demo
        .output()
        .split('\n')
        .filter((line) => line.includes('"event":"redis.posture"'))
        .map((line) => JSON.parse(line) as { level: string; rule: string; status: string });
      // Only what a least-privilege user cannot read (CONFIG): notes, not warnings.
      expect(findings.map((f) => [f.level, f.rule, f.status])).toEqual([
        ['info', 'tls', 'unknown'],
        ['info', 'protected-mode', 'unknown'],
      ]);
      const detailed = async () =>
        (
          (await (await fetch(`${demo.base}/health/detailed`)).json()) as {
            services: { posture: { user?: string; rules?: { rule: string; status: string }[] } }[];
          }
        ).services[0]!.posture;
      // Any worker may answer; each audits in the background on its first /health/detailed.
      let posture: Awaited<ReturnType<typeof detailed>> = {};
      await waitFor('a worker to show a complete audit', async () => {
        posture = await detailed();
        return posture.user !== undefined && posture.rules !== undefined;
      });
      expect(posture.user).toBe('demo');
      expect(Object.fromEntries(posture.rules!.map((r) => [r.rule, r.status]))).toMatchObject({
        eviction: 'pass',
        persistence: 'pass',
        'dangerous-commands': 'pass',
        replication: 'pass',
      });
    } finally {
      expect(await demo.stop()).toBe(0);
    }
  });

  it('replaces a crashed worker, keeps every X-Worker-Id served, and drains on SIGTERM with exit 0', async () => {
    const demo = await startDemo(development());
    try {
      const workers = execFileSync('pgrep', ['-P', String(demo.child.pid)])
        .toString()
        .trim()
        .split('\n');
      expect(workers).toHaveLength(4);
      process.kill(Number(workers[0]), 'SIGKILL');
      await waitFor('a replacement worker', async () => {
        const now = execFileSync('pgrep', ['-P', String(demo.child.pid)])
          .toString()
          .trim()
          .split('\n');
        return now.length === 4 && !now.includes(workers[0]!);
      });
      const seen = new Set<string>();
      await waitFor('all four worker ids', async () => {
        const response = await fetch(`${demo.base}/health/live`, { headers: { connection: 'close' } });
        seen.add(response.headers.get('x-worker-id') ?? '?');
        return seen.size === 4;
      });
      expect([...seen].sort()).toEqual(['1', '2', '3', '4']);
      expect(demo.output()).toMatch(/worker \d died \(SIGKILL\); starting a new one/);
    } finally {
      expect(await demo.stop()).toBe(0);
    }
  });

  describe('HTTP API and WebSocket on a running cluster', () => {
    let demo: Awaited<ReturnType<typeof startDemo>>;
    let token: string;
    beforeAll(async () => {
      demo = await startDemo({ ...development(), RATE_LIMIT_POINTS: '1000' });
      const response = await fetch(`${demo.base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      });
      const body = (await response.json()) as { accessToken: string; sessionId: string };
      expect(response.status).toBe(201);
      expect(body).toEqual({
        accessToken: expect.any(String),
        tokenType: 'Bearer',
        sessionId: expect.stringMatching(/^alice\./),
        expiresAt: expect.any(String),
      });
      token = body.accessToken;
    });
    afterAll(async () => {
      await demo?.stop();
    });

    const get = (path: string, bearer = token) =>
      fetch(`${demo.base}${path}`, { headers: { authorization: `Bearer ${bearer}` } });

    it('GET /api/me names the user, roles, session and worker', async () => {
      const response = await get('/api/me');
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        user: 'alice',
        roles: ['user'],
        worker: response.headers.get('x-worker-id'),
      });
    });

    it('sessions: device metadata listed, sign-out-others for oneself, and the admin routes for anyone', async () => {
      const login = async (username: string, agent: string) => {
        const response = await fetch(`${demo.base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': agent },
          body: JSON.stringify({ username, password: `${username}-password` }),
        });
        expect(response.status).toBe(201);
        return (await response.json()) as { accessToken: string; sessionId: string };
      };
      const call = (method: string, path: string, bearer: string) =>
        fetch(`${demo.base}${path}`, { method, headers: { authorization: `Bearer ${bearer}` } });
      const admin = await login('admin', 'admin-laptop');
      const phone = await login('bob', 'bob-phone');
      const laptop = await login('bob', 'bob-laptop');
      const tablet = await login('bob', 'bob-tablet');

      const own = (await (await call('GET', '/auth/sessions', phone.accessToken)).json()) as {
        sessions: { sessionId: string; metadata: Record<string, string>; current: boolean }[];
      };
      expect(own.sessions.map((s) => [s.metadata.device, s.metadata.channel, s.current])).toEqual([
        ['bob-phone', 'api', true],
        ['bob-laptop', 'api', false],
        ['bob-tablet', 'api', false],
      ]);

      // The admin sees bob's sessions and keeps only the laptop's.
      const listed = await call('GET', '/auth/users/bob/sessions', admin.accessToken);
      expect(listed.status).toBe(200);
      const { sessions } = (await listed.json()) as { sessions: { sessionId: string }[] };
      expect(sessions.map((s) => s.sessionId)).toEqual([phone.sessionId, laptop.sessionId, tablet.sessionId]);
      const others = await call(
        'DELETE',
        `/auth/users/bob/sessions/${laptop.sessionId}/others`,
        admin.accessToken,
      );
      expect(await others.json()).toEqual({ revoked: 2 });
      expect((await get('/api/me', phone.accessToken)).status).toBe(401);
      expect((await get('/api/me', tablet.accessToken)).status).toBe(401);
      expect((await get('/api/me', laptop.accessToken)).status).toBe(200);

      // Bob signs out his other devices himself; then the admin revokes the laptop.
      const fresh = await login('bob', 'bob-desktop');
      expect(await (await call('DELETE', '/auth/sessions/others', fresh.accessToken)).json()).toEqual({
        revoked: 1,
      });
      expect((await get('/api/me', laptop.accessToken)).status).toBe(401);
      const revoke = (id: string, user = 'bob') =>
        call('DELETE', `/auth/users/${user}/sessions/${encodeURIComponent(id)}`, admin.accessToken);
      expect((await revoke(fresh.sessionId, 'alice')).status).toBe(404);
      expect((await revoke(fresh.sessionId, 'nobody')).status).toBe(404);
      expect((await revoke(fresh.sessionId)).status).toBe(204);
      expect((await revoke(fresh.sessionId)).status).toBe(404);
      expect((await get('/api/me', fresh.accessToken)).status).toBe(401);
      const all = await call('DELETE', '/auth/users/bob/sessions', admin.accessToken);
      expect(await all.json()).toEqual({ revoked: 0 });
    });

    it('GET /api/profile is cached encrypted per user (MISS then HIT)', async () => {
      const first = await get('/api/profile');
      const second = await get('/api/profile');
      expect(first.headers.get('x-cache')).toBe('MISS');
      expect(second.headers.get('x-cache')).toBe('HIT');
      expect(await second.json()).toEqual(await first.json());
    });

    it('bad input gets clean 4xx: malformed JSON, wrong types, unknown session ids, non-admins', async () => {
      const post = (body: string) =>
        fetch(`${demo.base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
      expect((await post('{"username": ')).status).toBe(400);
      expect((await post('{"username": 1, "password": []}')).status).toBe(401);
      expect((await post(JSON.stringify({ username: 'alice', password: 'x'.repeat(20_000) }))).status).toBe(
        413,
      );
      expect((await post(JSON.stringify({ username: 'alice', password: 'wrong' }))).status).toBe(401);
      expect((await get('/api/admin')).status).toBe(403);
      const del = (path: string) =>
        fetch(`${demo.base}${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      expect((await del('/auth/sessions/alice.AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
      // Another user's session is answered exactly like an unknown one.
      expect((await del('/auth/sessions/bob.AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
      expect((await del('/auth/users/bob/sessions')).status).toBe(403);
      expect((await del('/auth/users/bob/sessions/bob.AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(403);
      expect((await get('/auth/users/bob/sessions')).status).toBe(403);
      expect((await get('/api/me', 'not-a-jwt')).status).toBe(401);
    });

    it('GET /ws echoes for a valid token and refuses a missing or revoked one before the handshake', async () => {
      const open = (query: string, headers: Record<string, string> = {}) =>
        new Promise<{ status?: number; echo?: string }>((resolve) => {
          const ws = new WebSocket(`${demo.base.replace('http', 'ws')}/ws${query}`, { headers });
          ws.on('open', () => ws.send('hello'));
          ws.on('message', (data) => {
            resolve({ echo: data.toString() });
            ws.close();
          });
          ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
          ws.on('error', () => undefined);
        });
      expect(await open('', { authorization: `Bearer ${token}` })).toEqual({ echo: 'alice: hello' });
      expect(await open(`?access_token=${token}`)).toEqual({ echo: 'alice: hello' });
      expect(await open('')).toEqual({ status: 401 });
      const logout = await fetch(`${demo.base}/auth/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(logout.status).toBe(204);
      expect(await open(`?access_token=${token}`)).toEqual({ status: 401 });
    });
  });
});
