import { afterAll, describe, expect, it } from '@jest/globals';
import { captureLogger } from '@sec/testing';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ConfigurationError, createRedisGuard, type RedisClient, type RedisGuard } from '../src/index.js';

const STRONG = 'Byo-Client-Password-0123456789abcdefghijklmn';
const PRODUCTION_TLS = { tls: { minVersion: 'TLSv1.3' as const }, password: STRONG, host: 'redis.internal' };

const guards: RedisGuard[] = [];
const clients: RedisClient[] = [];
afterAll(async () => {
  await Promise.all(guards.map((g) => g.close()));
  for (const client of clients) client.disconnect();
});

function standalone(options: RedisOptions): Redis {
  const client = new Redis({ lazyConnect: true, enableOfflineQueue: false, ...options });
  clients.push(client);
  return client;
}

function guardFor(client: RedisClient, environment: 'production' | 'staging' | 'development', env = {}) {
  const log = captureLogger();
  const guard = createRedisGuard({ client, environment, env, logger: log.logger });
  guards.push(guard);
  return { guard, log };
}

function refusal(client: RedisClient, environment: 'production' | 'staging', env = {}) {
  try {
    guardFor(client, environment, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return { code: (error as ConfigurationError).code, message: (error as Error).message, error };
  }
  throw new Error('the guard accepted the client');
}

describe("the app's own ioredis client in production", () => {
  it('accepts TLS 1.3, verification on, a strong password and a remote host, with no warning', () => {
    const { guard, log } = guardFor(standalone(PRODUCTION_TLS), 'production');
    expect(guard.mode).toBe('redis');
    expect(log.records.filter((r) => r.level === 'warn')).toEqual([]);
  });

  it.each([
    ['no TLS', { password: STRONG, host: 'redis.internal' }, 'ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION'],
    [
      'rejectUnauthorized: false',
      { ...PRODUCTION_TLS, tls: { rejectUnauthorized: false, minVersion: 'TLSv1.3' } },
      'ERR_SEC_REDIS_TLS_VERIFY_DISABLED',
    ],
    [
      'TLS 1.2 set explicitly',
      { ...PRODUCTION_TLS, tls: { minVersion: 'TLSv1.2' } },
      'ERR_SEC_REDIS_TLS_VERSION_TOO_LOW',
    ],
    ['no password', { ...PRODUCTION_TLS, password: undefined }, 'ERR_SEC_REDIS_PASSWORD_MISSING'],
    [
      'a short password',
      { ...PRODUCTION_TLS, password: 'short-password' },
      'ERR_SEC_REDIS_PASSWORD_TOO_SHORT',
    ],
    ['localhost', { ...PRODUCTION_TLS, host: '127.0.0.1' }, 'ERR_SEC_REDIS_LOCALHOST_IN_PRODUCTION'],
    [
      'a Unix socket',
      { ...PRODUCTION_TLS, host: undefined, path: '/run/redis.sock' },
      'ERR_SEC_REDIS_LOCALHOST_IN_PRODUCTION',
    ],
  ] as const)(
    'refuses %s with a stable code, naming the client and never the password',
    (_what, options, code) => {
      const { code: actual, message, error } = refusal(standalone(options as RedisOptions), 'production');
      expect(actual).toBe(code);
      expect((error as ConfigurationError).variable).toBe('client');
      expect(message).toMatch(/client/);
      expect(message).not.toContain(STRONG);
    },
  );

  it('a rediss:// URL counts as TLS', () => {
    const url = `rediss://:${encodeURIComponent(STRONG)}@redis.internal:6380`;
    const client = new Redis(url, { lazyConnect: true, tls: { minVersion: 'TLSv1.3' } });
    clients.push(client);
    expect(guardFor(client, 'production').guard.mode).toBe('redis');
  });

  it('the same escape hatches as a configured Redis: REDIS_INSECURE_ALLOW_PLAINTEXT and REDIS_SINGLE_HOST', () => {
    const env = { REDIS_INSECURE_ALLOW_PLAINTEXT: 'true', REDIS_SINGLE_HOST: 'true' };
    const { log } = guardFor(standalone({ password: STRONG, host: '127.0.0.1' }), 'production', env);
    const warning = log.records.find(
      (r) => (r.obj as { code?: string }).code === 'ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION',
    );
    expect(warning?.level).toBe('warn');
    expect(warning?.msg).toMatch(/REDIS_INSECURE_ALLOW_PLAINTEXT=true/);
  });

  it('warns (code ERR_SEC_REDIS_TLS_VERSION_TOO_LOW) when TLS has no minVersion: Node would accept 1.2', () => {
    const { log } = guardFor(standalone({ ...PRODUCTION_TLS, tls: {} }), 'production');
    expect(log.records.map((r) => [r.level, (r.obj as { code?: string }).code])).toContainEqual([
      'warn',
      'ERR_SEC_REDIS_TLS_VERSION_TOO_LOW',
    ]);
  });

  it('a client certificate without a password warns instead of refusing (the server may authenticate by it)', () => {
    const tls = { minVersion: 'TLSv1.3' as const, cert: 'CERT', key: 'KEY' };
    const { log } = guardFor(standalone({ ...PRODUCTION_TLS, password: undefined, tls }), 'production');
    expect(log.records.map((r) => (r.obj as { code?: string }).code)).toContain(
      'ERR_SEC_REDIS_PASSWORD_MISSING',
    );
  });

  it('staging: 24 characters are enough, localhost is allowed, plaintext is not', () => {
    const client = standalone({ ...PRODUCTION_TLS, tls: {}, password: 'x'.repeat(24), host: '127.0.0.1' });
    expect(guardFor(client, 'staging').guard.mode).toBe('redis');
    expect(refusal(standalone({ password: STRONG, host: 'redis.internal' }), 'staging').code).toBe(
      'ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION',
    );
  });

  it('Cluster: the rules read redisOptions', () => {
    const ok = new Cluster([{ host: 'redis.internal', port: 6379 }], {
      lazyConnect: true,
      redisOptions: { tls: { minVersion: 'TLSv1.3' }, password: STRONG },
    });
    const plaintext = new Cluster([{ host: 'redis.internal', port: 6379 }], {
      lazyConnect: true,
      redisOptions: { password: STRONG },
    });
    clients.push(ok, plaintext);
    expect(guardFor(ok, 'production').guard.mode).toBe('redis');
    expect(refusal(plaintext, 'production').code).toBe('ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION');
  });

  it('Sentinel: TLS to the data nodes but not to the sentinels is a loud warning', () => {
    const client = standalone({
      ...PRODUCTION_TLS,
      sentinels: [{ host: 'sentinel.internal', port: 26379 }],
      name: 'mymaster',
    });
    const { log } = guardFor(client, 'production');
    const warning = log.records.find((r) => /sentinels without TLS/.test(r.msg ?? ''));
    expect(warning?.level).toBe('warn');
  });

  it('an object with no ioredis options cannot be checked: refused with ERR_SEC_REDIS_CLIENT_UNVERIFIED', () => {
    const fake = { status: 'ready', on() {}, ping: async () => 'PONG' } as unknown as RedisClient;
    expect(refusal(fake, 'production').code).toBe('ERR_SEC_REDIS_CLIENT_UNVERIFIED');
  });
});

describe("the app's own client in development", () => {
  it('nothing is refused; plaintext to a remote host without a password gives coded warnings', () => {
    const { guard, log } = guardFor(standalone({ host: 'redis.internal' }), 'development');
    expect(guard.mode).toBe('redis');
    const codes = log.records.filter((r) => r.level === 'warn').map((r) => (r.obj as { code?: string }).code);
    expect(codes).toEqual(
      expect.arrayContaining(['ERR_SEC_REDIS_PLAINTEXT_IN_PRODUCTION', 'ERR_SEC_REDIS_PASSWORD_MISSING']),
    );
  });
});
