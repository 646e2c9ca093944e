import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import {
  type AclUser,
  captureLogger,
  freePort,
  PRODUCTION_ON_LOOPBACK,
  type RedisServer,
  redisCli,
  startCluster,
  startRedis,
  waitFor,
} from '@sec/testing';
import {
  aclRule,
  assertRedisPosture,
  auditRedisPosture,
  ConfigurationError,
  createRedisGuard,
  type Environment,
  type PostureReport,
  type RedisGuard,
  redisAccess,
} from '../src/index.js';

/**
 * The posture audit against real servers started with each setting it judges. Production refuses
 * only the eviction policy; everything else warns; what the server will not tell is "unknown" and
 * never a failure, an open breaker or a permission-error log line.
 */
const ADMIN = 'posture-Admin-Password-0123456789-abcdefghij';
const APP = 'posture-App-Password-0123456789-abcdefghijkl';
const SAFE = { 'maxmemory-policy': 'noeviction', appendonly: 'yes' };

const servers: RedisServer[] = [];
const guards: RedisGuard[] = [];
afterEach(async () => {
  await Promise.all(guards.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function server(config: Record<string, string>, users: AclUser[] = []): Promise<RedisServer> {
  const started = await startRedis({ password: ADMIN, config, users });
  servers.push(started);
  return started;
}

async function connect(
  redis: RedisServer,
  environment: Environment,
  as?: { username: string; password: string },
) {
  const log = captureLogger();
  const guard = createRedisGuard({
    config: {
      url: redis.url,
      ...(as ? { username: as.username, password: as.password } : { password: ADMIN }),
      insecureAllowPlaintext: true,
      singleHost: true,
    },
    environment,
    logger: log.logger,
  });
  guards.push(guard);
  await guard.ready();
  return { guard, log };
}

const result = (report: PostureReport, rule: string) => report.results.find((r) => r.rule === rule)!;
const statuses = (report: PostureReport) => Object.fromEntries(report.results.map((r) => [r.rule, r.status]));

/** Nothing the audit sent was denied: no ACL LOG entry (and so no alert on the server side). */
async function aclLog(redis: RedisServer): Promise<string> {
  return (await redisCli({ port: redis.port, password: ADMIN }, 'ACL', 'LOG')).trim();
}

describe('eviction policy', () => {
  it.each(['allkeys-lru', 'volatile-lru', 'allkeys-lfu', 'volatile-ttl'])(
    '%s: production refuses to start, naming maxmemory-policy, its code and its override',
    async (policy) => {
      const redis = await server({ ...SAFE, 'maxmemory-policy': policy });
      const { guard, log } = await connect(redis, 'production');
      const failure = await assertRedisPosture(guard).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConfigurationError);
      expect(failure).toMatchObject({
        code: 'ERR_SEC_REDIS_EVICTION_POLICY',
        variable: 'REDIS_ACCEPT_EVICTION',
        status: 500,
      });
      expect((failure as Error).message).toContain(`maxmemory-policy is ${policy}`);
      expect((failure as Error).message).toContain('maxmemory-policy noeviction');
      expect((failure as Error).message).toContain('REDIS_ACCEPT_EVICTION=true');
      const line = log.records.find((r) => (r.obj as { rule?: string }).rule === 'eviction');
      expect(line).toMatchObject({
        level: 'error',
        obj: {
          event: 'redis.posture',
          code: 'ERR_SEC_REDIS_EVICTION_POLICY',
          status: 'refuse',
          setting: 'maxmemory-policy',
          observed: policy,
        },
      });
    },
  );

  it('staging refuses too; development and test warn and start', async () => {
    const redis = await server({ ...SAFE, 'maxmemory-policy': 'allkeys-lru' });
    await expect(assertRedisPosture((await connect(redis, 'staging')).guard)).rejects.toMatchObject({
      code: 'ERR_SEC_REDIS_EVICTION_POLICY',
    });
    for (const environment of ['development', 'test'] as const) {
      const { guard, log } = await connect(redis, environment);
      const report = await assertRedisPosture(guard);
      expect(result(report, 'eviction')).toMatchObject({ status: 'warn', observed: 'allkeys-lru' });
      expect(log.records.filter((r) => r.level === 'warn').map((r) => r.msg)).toContainEqual(
        expect.stringContaining('maxmemory-policy is allkeys-lru'),
      );
    }
  });

  it('REDIS_ACCEPT_EVICTION=true (or accept: [eviction]) lets production start, with a warning that says so', async () => {
    const redis = await server({ ...SAFE, 'maxmemory-policy': 'allkeys-lru' });
    const { guard, log } = await connect(redis, 'production');
    const byVariable = await assertRedisPosture(guard, { env: { REDIS_ACCEPT_EVICTION: 'true' } });
    expect(result(byVariable, 'eviction')).toMatchObject({ status: 'accepted' });
    expect(result(byVariable, 'eviction').message).toMatch(/^Accepted with REDIS_ACCEPT_EVICTION=true: /);
    expect(log.records.find((r) => (r.obj as { rule?: string }).rule === 'eviction')?.level).toBe('warn');
    const byOption = await assertRedisPosture(guard, { env: {}, accept: ['eviction'] });
    expect(result(byOption, 'eviction').status).toBe('accepted');
    // An override is a strict boolean: a typo refuses to start rather than silently not applying.
    await expect(
      assertRedisPosture(guard, { env: { REDIS_ACCEPT_EVICTION: 'yes please' } }),
    ).rejects.toMatchObject({ code: 'ERR_SEC_INVALID_FLAG', variable: 'REDIS_ACCEPT_EVICTION' });
  });

  it('noeviction passes, and production starts', async () => {
    const redis = await server(SAFE);
    const { guard } = await connect(redis, 'production');
    const report = await assertRedisPosture(guard);
    expect(result(report, 'eviction')).toMatchObject({ status: 'pass', observed: 'noeviction' });
  });
});

describe('persistence', () => {
  it('appendonly no and no save: a warning saying what a restart costs, in production too; production starts', async () => {
    const redis = await server({ 'maxmemory-policy': 'noeviction' });
    const { guard, log } = await connect(redis, 'production');
    const report = await assertRedisPosture(guard);
    expect(result(report, 'persistence')).toMatchObject({
      status: 'warn',
      code: 'ERR_SEC_REDIS_PERSISTENCE',
      setting: 'appendonly, save',
      observed: 'appendonly no, save ""',
    });
    const message = result(report, 'persistence').message;
    expect(message).toMatch(/signs every user out and forgets every rate-limit counter and login block/);
    expect(message).toContain('appendonly yes');
    expect(message).toContain('REDIS_ACCEPT_NO_PERSISTENCE=true');
    expect(log.records.some((r) => r.level === 'warn' && /appendonly is no/.test(r.msg ?? ''))).toBe(true);
  });

  it('RDB snapshots only: a warning that a restart undoes revocations made since the last snapshot', async () => {
    const redis = await server({ 'maxmemory-policy': 'noeviction', save: '"3600 1"' });
    const report = await auditRedisPosture((await connect(redis, 'production')).guard);
    expect(result(report, 'persistence')).toMatchObject({
      status: 'warn',
      observed: 'appendonly no, save "3600 1"',
    });
    expect(result(report, 'persistence').message).toMatch(/a revoked session can come back/);
  });

  it('REDIS_ACCEPT_NO_PERSISTENCE=true accepts it (logged at info)', async () => {
    const redis = await server({ 'maxmemory-policy': 'noeviction' });
    const { guard, log } = await connect(redis, 'production');
    const report = await assertRedisPosture(guard, { env: { REDIS_ACCEPT_NO_PERSISTENCE: 'true' } });
    expect(result(report, 'persistence').status).toBe('accepted');
    expect(log.records.find((r) => (r.obj as { rule?: string }).rule === 'persistence')?.level).toBe('info');
  });
});

describe('the ACL user', () => {
  it('a "+@all" user: a warning naming the commands and the exact ACL line that removes them', async () => {
    const redis = await server(SAFE, [{ name: 'everything', password: APP, rules: '~* &* +@all' }]);
    const { guard } = await connect(redis, 'production', { username: 'everything', password: APP });
    const report = await assertRedisPosture(guard);
    expect(report.user).toBe('everything');
    const found = result(report, 'dangerous-commands');
    expect(found).toMatchObject({ status: 'warn', code: 'ERR_SEC_REDIS_DANGEROUS_COMMANDS' });
    for (const command of [
      'FLUSHALL',
      'FLUSHDB',
      'CONFIG SET',
      'KEYS',
      'DEBUG',
      'SHUTDOWN',
      'MONITOR',
      'SCRIPT FLUSH',
      'ACL SETUSER',
    ]) {
      expect(found.observed).toContain(command);
    }
    const line = /`(ACL SETUSER everything [^`]+)`/.exec(found.message)?.[1];
    expect(line).toBeDefined();
    // The line does what it says: applied as an admin, the next audit passes.
    await redisCli({ port: redis.port, password: ADMIN }, ...line!.split(' '));
    expect(result(await auditRedisPosture(guard), 'dangerous-commands')).toMatchObject({
      status: 'pass',
      observed: 'user everything: none',
    });
    // And the data is all still there: DRYRUN asks, it never runs.
    expect(await redisCli({ port: redis.port, password: ADMIN }, 'PING')).toContain('PONG');
  });

  it('the default user: the fix is a user of its own (sec-redis acl), not stripping default', async () => {
    const redis = await server(SAFE);
    const report = await auditRedisPosture((await connect(redis, 'production')).guard);
    const found = result(report, 'dangerous-commands');
    expect(found.status).toBe('warn');
    expect(found.message).toContain('npx sec-redis acl');
    expect(found.message).not.toContain('ACL SETUSER default');
  });

  it('the generated least-privilege user: passes where it can tell, unknown (with a manual check) where CONFIG is needed, and nothing it sent was denied', async () => {
    const rule = aclRule([redisAccess()]);
    const redis = await server(SAFE, [{ name: 'app', password: APP, rules: `on ${rule}` }]);
    await redisCli({ port: redis.port, password: ADMIN }, 'ACL', 'LOG', 'RESET');
    const { guard, log } = await connect(redis, 'production', { username: 'app', password: APP });
    const report = await assertRedisPosture(guard);
    expect(statuses(report)).toEqual({
      eviction: 'pass',
      persistence: 'pass',
      'dangerous-commands': 'pass',
      replication: 'pass',
      tls: 'unknown',
      'protected-mode': 'unknown',
    });
    expect(result(report, 'tls').message).toMatch(
      /^Could not be read: CONFIG GET is denied to this ACL user\. Check by hand: /,
    );
    expect(await aclLog(redis)).toBe('');
    const posture = log.records.filter((r) => (r.obj as { event?: string }).event === 'redis.posture');
    expect(posture.map((r) => [r.level, (r.obj as { rule: string }).rule])).toEqual([
      ['info', 'tls'],
      ['info', 'protected-mode'],
    ]);
  });

  it('a user not allowed to run CONFIG: what INFO tells is judged (production still refuses allkeys-lru), the rest is unknown; no permission-error log, the breaker untouched', async () => {
    const redis = await server({ 'maxmemory-policy': 'allkeys-lru' }, [
      { name: 'noconfig', password: APP, rules: '~* &* +@all -config -acl +acl|whoami' },
    ]);
    const { guard, log } = await connect(redis, 'production', { username: 'noconfig', password: APP });
    const report = await auditRedisPosture(guard);
    expect(statuses(report)).toEqual({
      eviction: 'refuse',
      persistence: 'warn',
      'dangerous-commands': 'unknown',
      replication: 'pass',
      tls: 'unknown',
      'protected-mode': 'unknown',
    });
    expect(result(report, 'dangerous-commands').message).toMatch(
      /ACL DRYRUN is denied to this ACL user \(NOPERM\)\. Check by hand: as an admin, `ACL DRYRUN noconfig FLUSHALL`/,
    );
    expect(result(report, 'protected-mode').message).toMatch(
      /CONFIG GET is denied to this ACL user \(NOPERM\)/,
    );
    await expect(assertRedisPosture(guard)).rejects.toMatchObject({ code: 'ERR_SEC_REDIS_EVICTION_POLICY' });
    expect(log.text()).not.toContain('redis.config.permission_denied');
    expect(guard.breaker.snapshot()).toMatchObject({ state: 'closed', failureCount: 0 });
  });

  it('a user that may run almost nothing (as on a locked-down managed service): every rule unknown, production starts', async () => {
    const redis = await server({ 'maxmemory-policy': 'allkeys-lru' }, [
      { name: 'bare', password: APP, rules: '~* -@all +ping +get +set +del' },
    ]);
    const { guard, log } = await connect(redis, 'production', { username: 'bare', password: APP });
    const report = await assertRedisPosture(guard);
    expect(new Set(Object.values(statuses(report)))).toEqual(new Set(['unknown']));
    expect(result(report, 'eviction').message).toContain(
      '`redis-cli INFO memory` must show maxmemory_policy:noeviction',
    );
    // The one rule that would refuse here, unverifiable, is a warning; the others are notes.
    const eviction = log.records.find((r) => (r.obj as { rule?: string }).rule === 'eviction');
    expect(eviction?.level).toBe('warn');
    expect(log.text()).not.toContain('redis.config.permission_denied');
    expect(guard.breaker.snapshot()).toMatchObject({ state: 'closed', failureCount: 0 });
    expect(await guard.execute((c) => c.ping())).toBe('PONG');
  });
});

describe('replication', () => {
  it('a primary with a replica and min-replicas-to-write 0: a warning relating WAIT and the writes that do not wait; 1 passes, also read by a least-privilege user from INFO', async () => {
    const rule = aclRule([redisAccess()]);
    const primary = await server(SAFE, [{ name: 'app', password: APP, rules: `on ${rule}` }]);
    const replica = await server({
      ...SAFE,
      replicaof: `127.0.0.1 ${primary.port}`,
      masterauth: `"${ADMIN}"`,
    });
    await waitFor('the replica to connect', async () =>
      (await redisCli({ port: primary.port, password: ADMIN }, 'INFO', 'replication')).includes(
        'connected_slaves:1',
      ),
    );
    expect(replica.running).toBe(true);
    const admin = (await connect(primary, 'production')).guard;
    const app = (await connect(primary, 'production', { username: 'app', password: APP })).guard;
    for (const guard of [admin, app]) {
      const found = result(await assertRedisPosture(guard), 'replication');
      expect(found).toMatchObject({
        status: 'warn',
        code: 'ERR_SEC_REDIS_ASYNC_REPLICATION',
        setting: 'min-replicas-to-write',
        observed: 'min-replicas-to-write 0',
      });
      expect(found.message).toMatch(/^1 replica, and min-replicas-to-write is 0/);
      expect(found.message).toMatch(/replicaAcks, WAIT/);
      expect(found.message).toContain('min-replicas-to-write 1');
      expect(found.message).toContain('REDIS_ACCEPT_ASYNC_REPLICATION=true');
    }
    await redisCli({ port: primary.port, password: ADMIN }, 'CONFIG', 'SET', 'min-replicas-to-write', '1');
    expect(result(await auditRedisPosture(admin), 'replication')).toMatchObject({
      status: 'pass',
      observed: 'min-replicas-to-write 1',
    });
    expect(result(await auditRedisPosture(app), 'replication').status).toBe('pass');
  });
});

describe('TLS', () => {
  async function tlsServer(config: Record<string, string>) {
    const redis = await startRedis({ password: ADMIN, tls: true, config: { ...SAFE, ...config } });
    servers.push(redis);
    const guard = createRedisGuard({
      config: {
        url: redis.url,
        password: ADMIN,
        tls: { ca: await readFile(redis.tls!.caFile, 'utf8'), minVersion: 'TLSv1.3' },
        singleHost: true,
      },
      environment: 'production',
      logger: captureLogger().logger,
    });
    guards.push(guard);
    await guard.ready();
    return result(await assertRedisPosture(guard), 'tls');
  }

  it('TLS only with TLS 1.2 and 1.3 passes', async () => {
    expect(await tlsServer({})).toMatchObject({
      status: 'pass',
      observed: expect.stringContaining('"TLSv1.2 TLSv1.3", port 0'),
    });
  });

  it('TLS 1.1 offered, and a plaintext port beside the TLS one: a warning naming tls-protocols and port', async () => {
    const plaintext = await freePort();
    const found = await tlsServer({ 'tls-protocols': '"TLSv1.1 TLSv1.2 TLSv1.3"', port: String(plaintext) });
    expect(found).toMatchObject({
      status: 'warn',
      code: 'ERR_SEC_REDIS_TLS_PROTOCOLS',
      setting: 'tls-protocols, port',
    });
    expect(found.message).toContain('tls-protocols offers TLSv1.1');
    expect(found.message).toContain(`port ${plaintext} accepts plaintext`);
    expect(found.message).toContain('REDIS_ACCEPT_OLD_TLS=true');
  });
});

describe('protected mode', () => {
  // "-192.0.2.1": an address Redis skips when it is not on this host, so the server listens on
  // loopback only while its bind setting names a non-loopback address, as a real deployment's would.
  const exposed = { ...SAFE, 'protected-mode': 'no', bind: '127.0.0.1 -192.0.2.1' };

  it('off, with a non-loopback bind and a default user without password: a warning', async () => {
    const redis = await startRedis({
      config: exposed,
      users: [{ name: 'ops', password: ADMIN, rules: '~* &* +@all' }],
    });
    servers.push(redis);
    const { guard } = await connect(redis, 'production', { username: 'ops', password: ADMIN });
    const found = result(await assertRedisPosture(guard), 'protected-mode');
    expect(found).toMatchObject({
      status: 'warn',
      code: 'ERR_SEC_REDIS_PROTECTED_MODE',
      observed: 'protected-mode no, bind "127.0.0.1 -192.0.2.1"',
    });
    expect(found.message).toContain('listens on 192.0.2.1');
    expect(found.message).toContain('protected-mode yes');
  });

  it('off, but the default user has a password (seen by an admin user): passes', async () => {
    const redis = await server(exposed);
    const found = result(
      await auditRedisPosture((await connect(redis, 'production')).guard),
      'protected-mode',
    );
    expect(found).toMatchObject({ status: 'pass' });
    expect(found.message).toContain('default user is off or has a password');
  });
});

describe('Redis Cluster: every primary is read', () => {
  it('one primary on allkeys-lru: production refuses, naming that node; replication warns for the Cluster', async () => {
    const cluster = await startCluster({ masters: 3, password: ADMIN });
    try {
      const odd = cluster.masters[1]!;
      await redisCli({ port: odd.port, password: ADMIN }, 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      const guard = createRedisGuard({
        env: { ...PRODUCTION_ON_LOOPBACK, REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_PASSWORD: ADMIN },
        logger: captureLogger().logger,
      });
      guards.push(guard);
      await guard.ready();
      const report = await auditRedisPosture(guard);
      const found = result(report, 'eviction');
      expect(found.status).toBe('refuse');
      expect(found.message).toMatch(
        new RegExp(`^On 127\\.0\\.0\\.1:${odd.port}: maxmemory-policy is allkeys-lru`),
      );
      expect(found.observed).toContain(`127.0.0.1:${odd.port} allkeys-lru`);
      expect(result(report, 'replication')).toMatchObject({ status: 'warn' });
      expect(result(report, 'replication').message).toMatch(
        /^On every primary: Redis Cluster, and min-replicas-to-write is 0/,
      );
      await expect(assertRedisPosture(guard)).rejects.toMatchObject({
        code: 'ERR_SEC_REDIS_EVICTION_POLICY',
      });
    } finally {
      await Promise.all(guards.splice(0).map((g) => g.close()));
      await cluster.stop();
    }
  });
});

describe('a server that stops answering', () => {
  it('frozen (SIGSTOP): the gate finishes with every rule unknown, naming the timeout, and the breaker untouched', async () => {
    const redis = await server(SAFE);
    const { guard } = await connect(redis, 'production');
    redis.pause();
    try {
      const report = await assertRedisPosture(guard, { timeoutMs: 300 });
      expect(new Set(Object.values(statuses(report)))).toEqual(new Set(['unknown']));
      expect(result(report, 'eviction').message).toMatch(/no answer within 300 ms/);
      expect(guard.breaker.snapshot()).toMatchObject({ state: 'closed', failureCount: 0 });
    } finally {
      redis.resume();
    }
    await waitFor('the guard to answer again', async () => (await guard.ping()) > 0);
  });
});
