import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import { Redis } from 'ioredis';
import { createRedisClient, createRedisGuard, type RedisClient } from '../src/index.js';

const PASSWORD = 'pw-Integration-0123456789-abcdefghijklmnop';

async function connected(client: RedisClient): Promise<RedisClient> {
  const guard = createRedisGuard({ client, logger: captureLogger().logger, environment: 'test' });
  await guard.ready(3_000);
  return client;
}

describe('createRedisClient against real servers', () => {
  let plain: RedisServer;
  let secured: RedisServer;
  let tls: RedisServer;
  let mtls: RedisServer;
  const clients: RedisClient[] = [];
  const track = <T extends { client: RedisClient }>(created: T): T => {
    clients.push(created.client);
    return created;
  };

  beforeAll(async () => {
    [plain, secured, tls, mtls] = await Promise.all([
      startRedis(),
      startRedis({
        password: PASSWORD,
        users: [{ name: 'app', password: `${PASSWORD}-acl`, rules: '~app:* &* +@all -flushall -flushdb' }],
      }),
      startRedis({ password: PASSWORD, tls: true }),
      startRedis({ password: PASSWORD, tls: { clientAuth: true } }),
    ]);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all([plain, secured, tls, mtls].map((s) => s?.stop()));
  });

  it('connects to a plain server and round-trips a value', async () => {
    const { client } = track(
      createRedisClient(
        { REDIS_URL: plain.url, NODE_ENV: 'development' },
        { logger: captureLogger().logger },
      ),
    );
    await connected(client);
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
  });

  it('gets NOAUTH from a password server when no password is given', async () => {
    const raw = new Redis({ port: secured.port, maxRetriesPerRequest: 0 });
    raw.on('error', () => undefined);
    await expect(raw.get('k')).rejects.toThrow(/NOAUTH/);
    raw.disconnect();
  });

  it('authenticates as an ACL user and is confined to its keys', async () => {
    const { client } = track(
      createRedisClient({
        REDIS_URL: secured.url,
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: `${PASSWORD}-acl`,
        NODE_ENV: 'test',
      }),
    );
    await connected(client);
    await client.set('app:x', '1');
    await expect(client.set('other:x', '1')).rejects.toThrow(/NOPERM/);
  });

  it('connects over TLS verifying the server against the CA', async () => {
    const { client, config } = track(
      createRedisClient({
        REDIS_URL: tls.url,
        REDIS_PASSWORD: PASSWORD,
        REDIS_TLS_CA_CERT: tls.tls!.caFile,
        NODE_ENV: 'staging',
      }),
    );
    expect(config.tls?.rejectUnauthorized).toBe(true);
    await connected(client);
    expect(await client.ping()).toBe('PONG');
  });

  it('refuses a TLS server whose certificate the CA did not sign', async () => {
    const log = captureLogger();
    const { client } = track(
      createRedisClient(
        { REDIS_URL: tls.url, REDIS_PASSWORD: PASSWORD, NODE_ENV: 'test' },
        { logger: log.logger },
      ),
    );
    const guard = createRedisGuard({ client, environment: 'test', logger: log.logger });
    await expect(guard.ready(1_500)).rejects.toMatchObject({ code: 'ERR_SEC_REDIS_CONNECT_FAILED' });
    expect(log.text()).toMatch(/self.signed|unable to (get|verify)|certificate/i);
  });

  it('presents a client certificate where the server demands one', async () => {
    const env = {
      REDIS_URL: mtls.url,
      REDIS_PASSWORD: PASSWORD,
      REDIS_TLS_CA_CERT: mtls.tls!.caFile,
      NODE_ENV: 'test',
    };
    const without = track(createRedisClient(env, { logger: captureLogger().logger }));
    await expect(
      createRedisGuard({ client: without.client, logger: captureLogger().logger }).ready(1_500),
    ).rejects.toThrow();
    const withCert = track(
      createRedisClient({
        ...env,
        REDIS_TLS_CERT: mtls.tls!.clientCertFile,
        REDIS_TLS_KEY: mtls.tls!.clientKeyFile,
      }),
    );
    await connected(withCert.client);
    expect(await withCert.client.ping()).toBe('PONG');
  });

  it('never shows the password in logs, errors or toString()', async () => {
    const log = captureLogger();
    const wrong = `${PASSWORD}-wrong`;
    const { client } = track(
      createRedisClient(
        { REDIS_URL: secured.url, REDIS_PASSWORD: wrong, NODE_ENV: 'test' },
        { logger: log.logger },
      ),
    );
    const guard = createRedisGuard({ client, logger: log.logger, environment: 'test' });
    const failure = await guard.ready(1_500).then(
      () => undefined,
      (e: unknown) => e,
    );
    const explicitAuth = await client.auth(wrong).then(
      () => undefined,
      (e: unknown) => e,
    );
    const captured = [
      log.text(),
      inspect(failure, { depth: 5 }),
      String(client),
      inspect(client),
      JSON.stringify(client),
      inspect(await guard.execute((c) => c.auth(wrong)).catch((e: unknown) => e), { depth: 5 }),
    ].join('\n');
    expect(explicitAuth).toBeDefined();
    expect(log.records.length).toBeGreaterThan(0);
    expect(captured).not.toContain(wrong);
    expect(captured).not.toContain(PASSWORD);
  });
});
