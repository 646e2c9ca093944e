import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCli, waitFor } from './redis-cli.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { makeTlsMaterial, type TlsMaterial } from './tls.js';

export interface RedisSentinelOptions {
  /** `requirepass` + `masterauth` on master and replica, `sentinel auth-pass` on the sentinels. */
  readonly password?: string;
  /** The sentinels' own password (`requirepass` + `sentinel sentinel-pass`), for REDIS_SENTINEL_PASSWORD. */
  readonly sentinelPassword?: string;
  /** TLS everywhere (clients, replication, sentinel links), one CA for all nodes. */
  readonly tls?: boolean;
  /** Master group name; default `mymaster`. */
  readonly name?: string;
}

export interface HostAndPort {
  readonly host: string;
  readonly port: number;
}

export interface RedisSentinelHandle {
  /** `{ host, port }` of the three sentinels, for ioredis `sentinels` or REDIS_SENTINELS. */
  readonly sentinels: readonly HostAndPort[];
  readonly name: string;
  /** The master at start-up. */
  readonly master: RedisServer;
  /** The replica at start-up; the one Sentinel promotes when the master dies. */
  readonly replica: RedisServer;
  readonly password: string | undefined;
  readonly sentinelPassword: string | undefined;
  /** Shared CA and certificates when started with `tls`. */
  readonly tls: TlsMaterial | undefined;
  /** REDIS_SENTINELS value: `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`. */
  readonly sentinelList: string;
  /** The variables an app sets to reach this deployment: REDIS_SENTINELS, REDIS_SENTINEL_NAME, passwords, TLS. */
  readonly env: Readonly<Record<string, string>>;
  /** Crash the current master (SIGKILL), like a node failure. */
  killMaster(): Promise<void>;
  /** Resolves with the new master once every sentinel reports the replica as master. */
  waitForFailover(timeoutMs?: number): Promise<HostAndPort>;
  stop(): Promise<void>;
}

export const DEFAULT_SENTINEL_NAME = 'mymaster';
const SENTINELS = 3;
const QUORUM = 2;
/** Low so a failover completes in a few seconds instead of the 30 s + 3 min defaults. */
const DOWN_AFTER_MS = 1_000;
const FAILOVER_TIMEOUT_MS = 3_000;

/** A `SENTINEL MASTER` answer from redis-cli (field and value on alternate lines), as a map. */
function fields(output: string): Map<string, string> {
  const map = new Map<string, string>();
  const lines = output.trim().split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) map.set(lines[i]!.trim(), lines[i + 1]!.trim());
  return map;
}

/**
 * Starts a real Sentinel deployment on loopback ports: a master, one replica and three sentinels
 * (quorum 2) tuned to fail over within a few seconds.
 * @example
 * const sentinel = await startSentinel({ password: 'p'.repeat(32) });
 * const client = new Redis({ sentinels: sentinel.sentinels, name: sentinel.name, password: sentinel.password });
 * await sentinel.killMaster();
 * await sentinel.waitForFailover();
 * afterAll(() => sentinel.stop());
 */
export async function startSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelHandle> {
  const name = options.name ?? DEFAULT_SENTINEL_NAME;
  const { password, sentinelPassword } = options;
  const tlsDir = options.tls ? await mkdtemp(join(tmpdir(), 'sec-sentinel-tls-')) : undefined;
  const material = tlsDir ? await makeTlsMaterial(tlsDir) : undefined;
  const tlsOption = material ? { tls: { material } } : {};
  // Redis opens its own replication and sentinel links over TLS only when told to.
  const tlsLinks: Record<string, string> = material ? { 'tls-replication': 'yes' } : {};
  const auth: Record<string, string> = password !== undefined ? { masterauth: `"${password}"` } : {};
  const passwordOption = password !== undefined ? { password } : {};
  const cliArgs = material ? ['--tls', '--cacert', material.caFile] : [];
  const servers: RedisServer[] = [];

  try {
    const master = await startRedis({ ...passwordOption, ...tlsOption, config: { ...auth, ...tlsLinks } });
    servers.push(master);
    const replica = await startRedis({
      ...passwordOption,
      ...tlsOption,
      config: { ...auth, ...tlsLinks, replicaof: `127.0.0.1 ${master.port}` },
    });
    servers.push(replica);
    const sentinelConfig: Record<string, string> = {
      ...tlsLinks,
      'sentinel monitor': `${name} 127.0.0.1 ${master.port} ${QUORUM}`,
      'sentinel down-after-milliseconds': `${name} ${DOWN_AFTER_MS}`,
      'sentinel failover-timeout': `${name} ${FAILOVER_TIMEOUT_MS}`,
      ...(password !== undefined && { 'sentinel auth-pass': `${name} "${password}"` }),
      ...(sentinelPassword !== undefined && { 'sentinel sentinel-pass': `"${sentinelPassword}"` }),
    };
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < SENTINELS; i++) {
      sentinels.push(
        await startRedis({
          sentinel: true,
          ...tlsOption,
          ...(sentinelPassword !== undefined && { password: sentinelPassword }),
          config: sentinelConfig,
        }),
      );
    }
    servers.push(...sentinels);

    const onSentinel = (sentinel: RedisServer, ...args: string[]) =>
      redisCli({ port: sentinel.port, password: sentinelPassword }, ...cliArgs, 'SENTINEL', ...args);
    await waitFor('the replica to sync', async () =>
      (await redisCli({ port: replica.port, password }, ...cliArgs, 'INFO', 'replication')).includes(
        'master_link_status:up',
      ),
    );
    // A failover needs a majority of sentinels that know each other and the replica; they find out
    // through hello messages, every 2 s.
    for (const sentinel of sentinels) {
      await waitFor(`sentinel ${sentinel.port} to see the replica and the other sentinels`, async () => {
        const info = fields(await onSentinel(sentinel, 'MASTER', name));
        return info.get('num-slaves') === '1' && info.get('num-other-sentinels') === String(SENTINELS - 1);
      });
    }

    let current: RedisServer = master;
    return {
      sentinels: sentinels.map((s) => ({ host: s.host, port: s.port })),
      name,
      master,
      replica,
      password,
      sentinelPassword,
      tls: material,
      sentinelList: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      env: {
        REDIS_SENTINELS: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
        REDIS_SENTINEL_NAME: name,
        ...(password !== undefined && { REDIS_PASSWORD: password }),
        ...(sentinelPassword !== undefined && { REDIS_SENTINEL_PASSWORD: sentinelPassword }),
        ...(material && { REDIS_TLS: 'true', REDIS_TLS_CA_CERT: material.caFile }),
      },
      async killMaster() {
        await current.kill();
      },
      async waitForFailover(timeoutMs = 30_000) {
        const promoted = current === master ? replica : master;
        await waitFor(
          `sentinels to promote port ${promoted.port}`,
          async () => {
            for (const sentinel of sentinels) {
              const answer = await onSentinel(sentinel, 'GET-MASTER-ADDR-BY-NAME', name);
              if (answer.trim().split('\n')[1]?.trim() !== String(promoted.port)) return false;
            }
            const role = await redisCli({ port: promoted.port, password }, ...cliArgs, 'ROLE');
            return role.startsWith('master');
          },
          timeoutMs,
        );
        current = promoted;
        return { host: promoted.host, port: promoted.port };
      },
      async stop() {
        await Promise.all(servers.map((s) => s.stop()));
        if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
    throw error;
  }
}
