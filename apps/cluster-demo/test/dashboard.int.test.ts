import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, waitFor } from '@sec/testing';
import { type RunningDemo, startDemo } from './demo-process.js';
import { bearer, type LoggedIn, login, send, workerPids } from './reliability/support.js';
import { type EventStream, openEvents } from './sse-client.js';

/**
 * The dashboard over HTTP, as a browser would call it and as a forging page would try to: cookie
 * sign-in, the event stream aggregated over the workers, session changes pushed at once, refusal
 * of every cross-origin state-changing request, and pause/resume of the Redis the demo owns.
 */
const USERS =
  'alice:alice-password:user,bob:bob-password:user,admin:admin-password:admin,carol:carol-password:admin';
const WORKERS = 2;

interface Snapshot {
  readonly workers: {
    id: string;
    pid: number;
    stale: boolean;
    breaker: string;
    requests: number;
    viewers: number;
  }[];
  readonly redis: { owned: boolean; paused: boolean };
}
interface Sessions {
  readonly users: { userId: string; sessions: { sessionId: string; metadata: Record<string, string> }[] }[];
  readonly unavailable?: unknown;
}

const sessionIdsOf = (snapshot: Sessions, userId: string) =>
  snapshot.users.find((u) => u.userId === userId)?.sessions.map((s) => s.sessionId) ?? [];

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    SEC_LOG_LEVEL: 'warn',
    WORKERS: String(WORKERS),
    DEMO_USERS: USERS,
    RATE_LIMIT_POINTS: '100000',
    ...extra,
  };
}

/** Signs in on the dashboard; the cookie as a browser would send it back (`name=value`). */
async function signIn(base: string, user: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/dashboard/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base, ...headers },
    body: JSON.stringify({ username: user, password: `${user}-password` }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  const setCookie = response.headers.getSetCookie();
  return { status: response.status, body, setCookie, cookie: setCookie[0]?.split(';')[0] ?? '' };
}

/** A stream on a worker other than `not` (fresh connections go round-robin). */
async function streamOn(base: string, cookie: string, not?: string): Promise<EventStream> {
  for (let i = 0; i < 10; i++) {
    const stream = await openEvents(base, { cookie });
    if (stream.worker !== not) return stream;
    stream.close();
  }
  throw new Error(`every stream landed on worker ${not}`);
}

describe('the dashboard (development: the demo owns its throwaway Redis)', () => {
  let demo: RunningDemo;
  let admin: { cookie: string };
  let apiAdmin: LoggedIn;
  const streams: EventStream[] = [];
  const open = async (cookie: string, not?: string) => {
    const stream = await streamOn(demo.base, cookie, not);
    streams.push(stream);
    return stream;
  };
  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${demo.base}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    // Started from / : the page and its files must be found from the package, not the working directory.
    demo = await startDemo(environment(), [], '/');
    admin = await signIn(demo.base, 'admin');
    apiAdmin = await login(demo.base, 'admin');
  }, 60_000);

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await demo?.stop();
  });

  it('serves the page and its modules with a strict CSP, from any working directory', async () => {
    const page = await fetch(`${demo.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/assets/dashboard.js"></script>');
    for (const file of ['dashboard.js', 'dom.js', 'http.js', 'panels.js']) {
      const asset = await fetch(`${demo.base}/assets/${file}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    }
    expect((await fetch(`${demo.base}/assets/dashboard.css`)).headers.get('content-type')).toMatch(
      /^text\/css/,
    );
    // The request panel's way of landing on the next worker: the answer closes its connection.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const kept = await send(demo.base, { path: '/health/live', agent });
    const closing = await send(demo.base, {
      path: '/health/live',
      agent,
      headers: { 'x-demo-connection': 'close' },
    });
    agent.destroy();
    expect([kept.headers.connection, closing.headers.connection]).toEqual(['keep-alive', 'close']);
    expect((await fetch(`${demo.base}/assets/../package.json`)).status).toBe(404);
    expect((await fetch(`${demo.base}/assets/%2e%2e%2fpackage.json`)).status).toBe(404);
  });

  it('signs an admin in with an HttpOnly, Secure, SameSite=Strict __Host- cookie and no token in the answer; the cookie is no bearer token, and an API token is no cookie', async () => {
    const answer = await signIn(demo.base, 'admin');
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body).sort()).toEqual(['expiresAt', 'sessionId']);
    expect(answer.setCookie).toHaveLength(1);
    expect(answer.setCookie[0]).toMatch(
      /^__Host-sec_session=[\w.-]+; Path=\/; Expires=.+; HttpOnly; Secure; SameSite=Strict$/,
    );
    const me = await call('GET', '/dashboard/api/me', { cookie: answer.cookie });
    expect(await me.json()).toMatchObject({ user: 'admin', admin: true, sessionId: answer.body.sessionId });

    const token = answer.cookie.slice(answer.cookie.indexOf('=') + 1);
    expect((await call('GET', '/api/me', bearer(token))).status).toBe(401);
    expect(
      (await call('GET', '/dashboard/api/me', { cookie: `__Host-sec_session=${apiAdmin.token}` })).status,
    ).toBe(401);
    expect((await call('GET', '/dashboard/api/me', {})).status).toBe(401);
    // The API never reads a cookie.
    expect((await call('GET', '/api/me', { cookie: answer.cookie })).status).toBe(401);
  });

  it('a signed-in non-admin gets none of it: 403 on the stream and on every action', async () => {
    const alice = await signIn(demo.base, 'alice');
    expect(alice.status).toBe(201);
    expect(await (await call('GET', '/dashboard/api/me', { cookie: alice.cookie })).json()).toMatchObject({
      admin: false,
    });
    const headers = { cookie: alice.cookie, origin: demo.base };
    expect((await call('GET', '/dashboard/api/events', headers)).status).toBe(403);
    expect((await call('GET', '/dashboard/api/users/bob/sessions', headers)).status).toBe(403);
    expect((await call('DELETE', '/dashboard/api/users/bob/sessions', headers)).status).toBe(403);
    expect((await call('POST', '/dashboard/api/redis/pause', headers)).status).toBe(403);
    expect((await call('POST', '/dashboard/api/redis/resume', headers)).status).toBe(403);
  });

  it('every worker’s figures reach the stream, whichever worker holds it', async () => {
    const stream = await open(admin.cookie);
    expect(stream.status).toBe(200);
    const hello = await stream.next<{ worker: string }>('hello');
    expect(hello.data.worker).toBe(stream.worker);
    const { data: snapshot } = await stream.next<Snapshot>(
      'workers',
      (s) => s.workers.length === WORKERS && s.workers.every((w) => !w.stale),
    );
    expect(snapshot.workers.map((w) => w.id)).toEqual(['1', '2']);
    expect(new Set(snapshot.workers.map((w) => w.pid)).size).toBe(WORKERS);
    expect(snapshot.workers.every((w) => w.breaker === 'closed' && w.requests > 0)).toBe(true);
    expect(snapshot.redis).toEqual({ owned: true, paused: false });
  });

  it('a session started or revoked through any worker shows on streams held by every worker within a second', async () => {
    const first = await open(admin.cookie);
    const second = await open(admin.cookie, first.worker);
    await Promise.all([first.next('sessions'), second.next('sessions')]);
    const both = async (match: (d: Sessions) => boolean, from: number) => {
      const marks = [first.events.length, second.events.length];
      return Promise.all(
        [first, second].map(
          async (s, i) => (await s.next<Sessions>('sessions', match, { after: marks[i] })).at - from,
        ),
      );
    };

    const started = performance.now();
    const alice = await login(demo.base, 'alice');
    const shownAfter = await both((d) => sessionIdsOf(d, 'alice').includes(alice.sessionId), started);
    const listed = (
      await first.next<Sessions>('sessions', (d) => sessionIdsOf(d, 'alice').includes(alice.sessionId))
    ).data.users
      .find((u) => u.userId === 'alice')!
      .sessions.find((s) => s.sessionId === alice.sessionId)!;
    expect(listed.metadata).toMatchObject({ channel: 'api', ip: expect.any(String) });

    const marks = [first.events.length, second.events.length];
    const revoke = await send(demo.base, {
      method: 'DELETE',
      path: `/auth/users/alice/sessions/${encodeURIComponent(alice.sessionId)}`,
      headers: bearer(apiAdmin.token),
    });
    expect(revoke.status).toBe(204);
    const gone = await Promise.all(
      [first, second].map(
        async (s, i) =>
          (
            await s.next<Sessions>(
              'sessions',
              (d) => !d.unavailable && !sessionIdsOf(d, 'alice').includes(alice.sessionId),
              { after: marks[i] },
            )
          ).at - revoke.end,
      ),
    );
    expect(first.worker).not.toBe(second.worker);
    // Pushed on the session events; the periodic re-read (every 3 s) alone could not make it.
    for (const ms of [...shownAfter, ...gone]) expect(ms).toBeLessThan(1_000);
  });

  it('the audit trail reaches the stream as events happen: a login and its revocation from any worker, with no token in it', async () => {
    type Lines = { id: string; type: string; user?: string; origin: string }[];
    const stream = await open(admin.cookie);
    const mark = stream.events.length;
    const bob = await login(demo.base, 'bob');
    const revoke = await send(demo.base, {
      method: 'DELETE',
      path: `/auth/users/bob/sessions/${encodeURIComponent(bob.sessionId)}`,
      headers: bearer(apiAdmin.token),
    });
    expect(revoke.status).toBe(204);
    const seen = await stream.next<Lines>(
      'audit',
      (lines) => lines.some((l) => l.type === 'session.revoke' && l.user === 'bob'),
      { after: mark },
    );
    const types = seen.data.filter((l) => l.user === 'bob').map((l) => l.type);
    // Newest first: the revocation, then the login it ended.
    expect(types.indexOf('session.revoke')).toBeLessThan(types.indexOf('session.login'));
    expect(JSON.stringify(seen.data)).not.toContain(bob.token);
    // A viewer who opens the dashboard later sees the recent history at once.
    const later = await open(admin.cookie, stream.worker);
    const history = await later.next<Lines>('audit');
    expect(history.data.map((l) => l.id)).toContain(
      seen.data.find((l) => l.type === 'session.revoke' && l.user === 'bob')!.id,
    );
  });

  it('refuses every cross-origin state-changing request (foreign Origin, Origin null, Sec-Fetch-Site cross-site or same-site) before anything changes; the same from the page’s origin works', async () => {
    const alice = await login(demo.base, 'alice');
    const id = encodeURIComponent(alice.sessionId);
    const actions: [string, string, unknown?][] = [
      ['POST', '/dashboard/api/redis/pause'],
      ['POST', '/dashboard/api/redis/resume', { resumeKey: 'x' }],
      ['DELETE', `/dashboard/api/users/alice/sessions/${id}`],
      ['DELETE', `/dashboard/api/users/alice/sessions/${id}/others`],
      ['DELETE', '/dashboard/api/users/alice/sessions'],
      ['PUT', '/dashboard/api/users/alice/roles', { roles: ['admin'] }],
      ['POST', '/dashboard/auth/logout'],
      ['DELETE', '/dashboard/auth/sessions/others'],
      ['DELETE', '/dashboard/auth/sessions'],
      ['POST', '/dashboard/auth/login', { username: 'admin', password: 'admin-password' }],
    ];
    const forgeries: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: demo.base.replace('127.0.0.1', 'localhost') },
      { origin: `${demo.base}.evil.example` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    const answers: string[] = [];
    for (const [method, path, body] of actions) {
      for (const forged of forgeries) {
        const response = await call(method, path, { cookie: admin.cookie, ...forged }, body);
        const text = await response.text();
        if (response.status !== 403 || !text.includes('cross_origin_request'))
          answers.push(`${method} ${path} ${JSON.stringify(forged)}: ${response.status} ${text}`);
      }
    }
    expect(answers).toEqual([]);

    // Nothing happened: alice's session, her role, the admin's cookie and Redis are as they were.
    expect(await (await call('GET', '/api/me', bearer(alice.token))).json()).toMatchObject({
      roles: ['user'],
    });
    expect((await call('GET', '/dashboard/api/me', { cookie: admin.cookie })).status).toBe(200);
    const stream = await open(admin.cookie);
    expect((await stream.next<Snapshot>('workers')).data.redis.paused).toBe(false);

    const control = await call('DELETE', `/dashboard/api/users/alice/sessions/${id}`, {
      cookie: admin.cookie,
      origin: demo.base,
      'sec-fetch-site': 'same-origin',
    });
    expect(control.status).toBe(204);
    expect((await call('GET', '/api/me', bearer(alice.token))).status).toBe(401);
  });

  it('streams reset by their clients at any moment leave nothing behind: no worker dies, every viewer is counted off', async () => {
    for (const stream of streams.splice(0)) stream.close();
    const pids = workerPids(demo.child.pid!);
    const port = Number(new URL(demo.base).port);
    const request = `GET /dashboard/api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${admin.cookie}\r\n\r\n`;
    const attempt = (i: number) =>
      new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
        const reset = () => socket.resetAndDestroy();
        // Staggered moments: before the answer, at its headers, mid-stream, after a snapshot.
        socket.write(request, () => {
          if (i % 4 === 0) reset();
        });
        if (i % 4 === 1) socket.once('data', reset);
        if (i % 4 === 2) socket.on('data', (chunk: Buffer) => chunk.includes('event: sessions') && reset());
        if (i % 4 === 3) socket.on('data', (chunk: Buffer) => chunk.includes('event: workers') && reset());
        setTimeout(reset, 5_000).unref();
      });
    await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(i)));

    const watcher = await open(admin.cookie);
    const viewers = (s: Snapshot) => s.workers.reduce((n, w) => n + w.viewers, 0);
    await watcher.next<Snapshot>('workers', (s) => s.workers.length === WORKERS && viewers(s) === 1);
    expect(workerPids(demo.child.pid!)).toEqual(pids);
    expect(demo.output()).not.toMatch(/died|unhandled/i);
  });

  it('a stream ends with signed-out when its session is revoked, or its admin demoted, through any worker', async () => {
    const revoked = await signIn(demo.base, 'admin');
    const revokedStream = await open(revoked.cookie);
    await revokedStream.next('hello');
    const id = encodeURIComponent(String(revoked.body.sessionId));
    const answer = await send(demo.base, {
      method: 'DELETE',
      path: `/auth/users/admin/sessions/${id}`,
      headers: bearer(apiAdmin.token),
    });
    expect(answer.status).toBe(204);
    const ended = await revokedStream.next('signed-out', undefined, { timeoutMs: 2_000 });
    expect(ended.data).toEqual({ reason: 'session_ended' });
    expect(ended.at - answer.end).toBeLessThan(1_000);
    await revokedStream.ended;

    const carol = await signIn(demo.base, 'carol');
    const carolStream = await open(carol.cookie);
    await carolStream.next('hello');
    const demote = await call('PUT', '/auth/users/carol/roles', bearer(apiAdmin.token), { roles: ['user'] });
    expect(demote.status).toBe(204);
    expect((await carolStream.next('signed-out', undefined, { timeoutMs: 2_000 })).data).toEqual({
      reason: 'forbidden',
    });
    await carolStream.ended;
  });

  it('pause and resume: an admin from the page’s origin pauses; while Redis is frozen, resuming takes the cookie’s origin and signature plus the pause’s key', async () => {
    const stream = await open(admin.cookie);
    await stream.next('hello');
    const headers = { cookie: admin.cookie, origin: demo.base };
    const paused = await call('POST', '/dashboard/api/redis/pause', headers);
    expect(paused.status).toBe(200);
    const { resumeKey, redis } = (await paused.json()) as { resumeKey: string; redis: object };
    expect(redis).toMatchObject({ owned: true, paused: true });
    expect(resumeKey).toMatch(/^[\w-]{43}$/);
    try {
      const during = await call('GET', '/api/me', bearer(apiAdmin.token));
      expect(during.status).toBe(503);
      expect(during.headers.get('retry-after')).toMatch(/^\d+$/);
      await stream.next<Snapshot>('workers', (s) => s.redis.paused);
      // The stream stays open, says its session cannot be vouched for, and keeps the workers coming.
      expect((await stream.next('verification', undefined, { timeoutMs: 5_000 })).data).toEqual({
        verified: false,
      });

      const resume = (extra: Record<string, string>, body: unknown) =>
        call('POST', '/dashboard/api/redis/resume', extra, body);
      const forgedCookie = admin.cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      expect((await resume({ origin: demo.base }, { resumeKey })).status).toBe(401);
      expect((await resume({ cookie: forgedCookie, origin: demo.base }, { resumeKey })).status).toBe(401);
      expect((await resume({ ...headers, origin: 'https://evil.example' }, { resumeKey })).status).toBe(403);
      expect((await resume(headers, { resumeKey: `${resumeKey.slice(0, -1)}x` })).status).toBe(403);
      expect((await resume(headers, {})).status).toBe(403);
      expect((await call('GET', '/api/me', bearer(apiAdmin.token))).status).toBe(503);

      const resumed = await resume(headers, { resumeKey });
      expect(resumed.status).toBe(200);
      expect(await resumed.json()).toEqual({ redis: { owned: true, paused: false } });
    } finally {
      await call('POST', '/dashboard/api/redis/resume', headers, { resumeKey });
    }
    await waitFor(
      'the API to answer again',
      async () => (await call('GET', '/api/me', bearer(apiAdmin.token))).status === 200,
    );
    const verified = await stream.next('verification', (v: { verified: boolean }) => v.verified, {
      timeoutMs: 5_000,
    });
    expect(verified.data).toEqual({ verified: true });
  });
});

describe('the dashboard with a Redis the demo did not start', () => {
  let redis: RedisServer;
  let demo: RunningDemo;
  const password = randomBytes(36).toString('base64url');

  beforeAll(async () => {
    redis = await startRedis({ password });
    demo = await startDemo(environment({ REDIS_URL: redis.url, REDIS_PASSWORD: password }));
  }, 60_000);
  afterAll(async () => {
    await demo?.stop();
    await redis?.stop();
  });

  it('never pauses it: 409 redis_not_owned, and the stream says it is not the demo’s', async () => {
    const admin = await signIn(demo.base, 'admin');
    const stream = await openEvents(demo.base, { cookie: admin.cookie });
    try {
      expect((await stream.next<Snapshot>('workers')).data.redis).toEqual({ owned: false, paused: false });
      const pause = await fetch(`${demo.base}/dashboard/api/redis/pause`, {
        method: 'POST',
        headers: { cookie: admin.cookie, origin: demo.base },
      });
      expect(pause.status).toBe(409);
      expect(await pause.json()).toMatchObject({ error: 'redis_not_owned' });
      expect(redis.running).toBe(true);
    } finally {
      stream.close();
    }
  });
});
