import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createEncryptedCache } from '@sec/cache-crypto';
import { assertStartupHealthy, createHealth, redisCheck } from '@sec/health';
import { loginLimiter, rateLimit } from '@sec/rate-limit';
import { assertRedisPosture, createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import {
  type AuditTrail,
  createAuditReader,
  createAuditTrail,
  verifyAuditTrail,
} from '@sec/redis-guard/audit';
import { createSessionManager, type SessionEvent } from '@sec/session';
import { captureLogger, type RedisServer, redisCli, startRedis, waitFor } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';

/**
 * The least-privilege ACL user that `sec-redis acl` prints for the packages installed here is
 * enough for every package's flow, and no more: run as that user, with a replica so revocations
 * WAIT, every flow succeeds and the server records no denial at all (ACL LOG stays empty, which
 * also covers denials a library swallows); MONITOR shows every command sent was granted.
 */
const run = promisify(execFile);
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = randomBytes(36).toString('base64url');
const APP = randomBytes(36).toString('base64url');
const admin = (server: RedisServer) => ({ port: server.port, password: ADMIN });

async function secRedis(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(
    process.execPath,
    [join(DEMO, 'node_modules', '@sec', 'redis-guard', 'bin', 'sec-redis.js'), ...args],
    {
      cwd: DEMO,
      env: { PATH: process.env.PATH, ...env },
    },
  );
}

/** The command as ACL rules name it: a container command with its subcommand. */
function aclName(args: readonly string[]): string {
  const name = args[0]!.toLowerCase();
  const containers = new Set(['acl', 'client', 'cluster', 'config', 'script', 'command', 'object', 'memory']);
  return containers.has(name) && args[1] ? `${name}|${args[1].toLowerCase()}` : name;
}

describe('the generated least-privilege ACL user runs every package', () => {
  let rule: string;
  let primary: RedisServer;
  let replica: RedisServer;
  let monitor: Redis;
  const seen = new Set<string>();
  let guard: RedisGuard;
  let trail: AuditTrail;
  const log = captureLogger();

  beforeAll(async () => {
    rule = (
      await secRedis(['acl', '--rule-only', '--cache-namespace', 'flow', '--audit-trail'])
    ).stdout.trim();
    primary = await startRedis({
      password: ADMIN,
      config: { appendonly: 'yes' },
      users: [{ name: 'app', password: APP, rules: `on ${rule}` }],
    });
    replica = await startRedis({
      password: ADMIN,
      config: { replicaof: `127.0.0.1 ${primary.port}`, masterauth: `"${ADMIN}"` },
    });
    await waitFor('the replica to sync', async () =>
      (await redisCli(admin(replica), 'INFO', 'replication')).includes('master_link_status:up'),
    );
    monitor = await new Redis({ port: primary.port, password: ADMIN }).monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'unix' && args.length > 0) seen.add(aclName(args));
    });
    await redisCli(admin(primary), 'ACL', 'LOG', 'RESET');
    guard = createRedisGuard({
      config: {
        url: primary.url,
        username: 'app',
        password: APP,
        insecureAllowPlaintext: true,
        singleHost: true,
      },
      environment: 'production',
      logger: log.logger,
    });
    await guard.ready();
    trail = createAuditTrail(guard);
  });
  afterAll(async () => {
    await trail?.close();
    await guard?.close();
    monitor?.disconnect();
    await Promise.all([replica?.stop(), primary?.stop()]);
  });

  it('the rule is what the packages installed here describe', () => {
    expect(rule).toMatch(/^resetkeys resetchannels -@all \+/);
    expect(rule).toContain('~sec:sess:* ~sec:user:*');
    expect(rule).toContain('~sec:rl:*');
    expect(rule).toContain('~sec:cache:flow:*');
    // Every key and channel under the guard's one key prefix, but the CLI's own check key.
    const patterns = rule.split(' ').filter((t) => t.startsWith('~') || t.startsWith('&'));
    expect(patterns.filter((p) => !/^[~&]sec:/.test(p))).toEqual(['~sec-redis:check:*']);
    expect(rule).toContain('&sec:session:events');
    expect(rule).toContain('+wait');
    expect(rule).toContain('~sec:{audit}:*');
  });

  it('guard and posture audit: PING, INFO, and an audit that passes what it can see', async () => {
    expect(await guard.ping()).toBeGreaterThan(0);
    const report = await assertRedisPosture(guard);
    expect(report.user).toBe('app');
    expect(Object.fromEntries(report.results.map((r) => [r.rule, r.status]))).toMatchObject({
      eviction: 'pass',
      persistence: 'pass',
      'dangerous-commands': 'pass',
    });
  });

  it('session: create, verify, touch, list, roles, re-authenticate, revoke, sign-out-others, revoke-all, a live connection and the event channel', async () => {
    const sessions = createSessionManager({
      redis: guard,
      signingKeys: [{ kid: 'k1', secret: randomBytes(48).toString('base64url') }],
      issuer: 'acl-test',
      audience: 'acl-test',
      replicaAcks: 1,
      touchIntervalMs: 1_000,
      connectionRecheckMs: 200,
    });
    const events: SessionEvent[] = [];
    sessions.onEvent((event) => events.push(event));
    try {
      const first = await sessions.create('alice', { roles: ['user'] });
      const second = await sessions.create('alice');
      expect((await sessions.verifyRequestToken(first.accessToken)).userId).toBe('alice');
      expect(await sessions.touch(first.sessionId)).toBe(true);
      expect((await sessions.listForUser('alice')).length).toBe(2);
      expect(await sessions.get(second.sessionId)).toBeDefined();
      await sessions.updateUser('alice', { roles: ['admin'] });
      expect((await sessions.verifyRequestToken(first.accessToken)).roles).toEqual(['admin']);
      expect(await sessions.markReauthenticated(first.sessionId)).toBe(true);
      const data = sessions.data(first.sessionId);
      await data.set('cart', { tea: 2 });
      await data.set('flash', 'saved');
      expect(await data.get('cart')).toEqual({ tea: 2 });
      await data.delete('flash');
      expect(await data.getAll()).toEqual({ cart: { tea: 2 } });
      const ended: unknown[] = [];
      sessions.bindConnection(await sessions.verifyRequestToken(second.accessToken), (end) =>
        ended.push(end),
      );
      // The periodic re-check of bound connections reads their sessions in one HMGET per user.
      const kept = sessions.bindConnection(
        await sessions.verifyRequestToken(first.accessToken),
        () => undefined,
      );
      await waitFor('a connection re-check', async () => seen.has('hmget'));
      kept.unbind();
      expect(await sessions.revoke(second.sessionId)).toBe(true);
      await waitFor('the bound connection to end', async () => ended.length === 1);
      const third = await sessions.create('alice');
      expect(await sessions.revokeOtherSessions(third.sessionId)).toBe(1);
      expect(await sessions.revokeAllForUser('alice')).toBe(1);
      await expect(sessions.verifyRequestToken(third.accessToken)).rejects.toMatchObject({ status: 401 });
      await sessions.recordLoginFailure({ ip: '203.0.113.9', user: 'mallory' });
      await waitFor('the events from the channel', async () => events.some((e) => e.type === 'login_failed'));
    } finally {
      await sessions.close();
    }
  });

  it('rate limits: counting, a block, a reset, and the login limiter reserve/refund', async () => {
    const limited = rateLimit({
      redis: guard,
      name: 'acl-flow',
      points: 2,
      windowMs: 60_000,
      blockDurationMs: 60_000,
    });
    const login = loginLimiter({ redis: guard, name: 'acl-login', maxConsecutiveFailsByUsernameAndIp: 2 });
    const app = express();
    app.get('/limited', limited, (_req, res) => res.send('ok'));
    app.post('/login/:user/:outcome', async (req, res) => {
      const attempt = await login.reserve(req, req.params.user);
      if (login.respond(res, attempt)) return;
      if (req.params.outcome === 'good') await attempt.succeeded();
      else await attempt.failed();
      res.status(req.params.outcome === 'good' ? 204 : 401).end();
    });
    const server: Server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/limited`)).status);
      expect(statuses).toEqual([200, 200, 429, 429]);
      await limited.reset('127.0.0.1');
      expect((await limited.consumeKey('somebody')).outcome).toBe('allowed');
      const logins: number[] = [];
      for (const outcome of ['bad', 'good', 'bad', 'bad', 'bad']) {
        logins.push((await fetch(`${base}/login/bob/${outcome}`, { method: 'POST' })).status);
      }
      expect(logins).toEqual([401, 204, 401, 401, 429]);
    } finally {
      server.close();
    }
  });

  it('encrypted cache: set, get, wrap, delete and a key rotation; another namespace is denied', async () => {
    const oldKey = `${randomBytes(32).toString('base64url')}=`;
    const newKey = `${randomBytes(32).toString('base64url')}=`;
    const env = { NODE_ENV: 'production' };
    const before = createEncryptedCache({
      redis: guard,
      namespace: 'flow',
      keys: [oldKey],
      env,
      logger: log.logger,
    });
    expect(await before.set('a', { n: 1 })).toBe(true);
    expect(await before.get('a')).toEqual({ n: 1 });
    expect(await before.wrap('b', () => ({ n: 2 }), { ttlMs: 60_000 })).toEqual({ n: 2 });
    expect(await before.del('b')).toBe(true);
    const after = createEncryptedCache({
      redis: guard,
      namespace: 'flow',
      keys: [newKey, oldKey],
      env,
      logger: log.logger,
    });
    expect(await after.rotate()).toMatchObject({ rotated: 1 });
    const outside = createEncryptedCache({
      redis: guard,
      namespace: 'other',
      keys: [newKey],
      env,
      logger: log.logger,
    });
    expect(await outside.set('x', 1)).toBe(false);
  });

  it('audit trail: the flows above are recorded, read back in order and verified', async () => {
    await trail.flush();
    const reader = createAuditReader(guard, { after: '0-0', blockMs: 100 });
    try {
      const types = (await reader.read()).map((entry) => entry.type);
      expect(types).toEqual(
        expect.arrayContaining(['session.revoke', 'session.revoke_all', 'ratelimit.blocked']),
      );
    } finally {
      await reader.close();
    }
    // A reader that starts at the newest entry pins where that is, so nothing written next is missed.
    const fromNow = createAuditReader(guard, { after: '$', blockMs: 100 });
    try {
      expect(await fromNow.read()).toEqual([]);
      expect(fromNow.lastId).not.toBe('$');
    } finally {
      await fromNow.close();
    }
    expect(await verifyAuditTrail(guard)).toMatchObject({ ok: true, trimmed: 0 });
  });

  it('health: the start-up gate, its Redis check and posture audit', async () => {
    const health = createHealth({ checks: [redisCheck(guard)], env: {}, logger: log.logger });
    await expect(assertStartupHealthy(health)).resolves.toMatchObject({ ready: true });
  });

  it('sec-redis check with the app credentials: the round trip and the audit pass', async () => {
    const { stdout } = await secRedis(['check'], {
      NODE_ENV: 'production',
      REDIS_INSECURE_ALLOW_PLAINTEXT: 'true',
      REDIS_SINGLE_HOST: 'true',
      REDIS_URL: primary.url,
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD: APP,
    });
    expect(stdout).toMatch(/set\/get\/del +ok/);
    expect(stdout).toMatch(/dangerous-commands +pass \(user app: none\)/);
    expect(stdout).toContain('result: OK');
  });

  it('nothing was denied but what the test asked for on purpose, and every command sent was granted', async () => {
    await guard.execute((c) => c.flushall()).catch(() => undefined);
    const entries = (await redisCli(admin(primary), 'ACL', 'LOG')).split('\n');
    // Only the deliberate denials: the other cache namespace and FLUSHALL.
    const objects = entries.flatMap((line, i) => (line === 'object' ? [entries[i + 1]] : []));
    expect(new Set(objects)).toEqual(new Set(['sec:cache:other:x', 'flushall']));
    const granted = new Set(
      rule
        .split(' ')
        .filter((t) => t.startsWith('+'))
        .map((t) => t.slice(1)),
    );
    // AUTH, HELLO and QUIT are never subject to ACL rules; FLUSHALL was the deliberate denial.
    const exempt = ['auth', 'hello', 'quit', 'flushall'];
    const extra = [...seen].filter((command) => !granted.has(command) && !exempt.includes(command));
    expect(extra).toEqual([]);
    // And nothing is granted that no flow sent, but for ACL DRYRUN (MONITOR never shows admin
    // commands; the audit's pass above used it).
    expect([...granted].filter((command) => !seen.has(command)).sort()).toEqual(['acl|dryrun']);
  });
});
