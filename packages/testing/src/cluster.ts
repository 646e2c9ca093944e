import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCli, waitFor } from './redis-cli.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { makeTlsMaterial, type TlsMaterial } from './tls.js';

export interface RedisClusterOptions {
  readonly masters?: number;
  /** Replicas per master (default 0), so the cluster can fail over a dead or frozen master. */
  readonly replicas?: number;
  readonly password?: string;
  /** TLS for clients and the cluster bus, one CA for all nodes (they verify each other). */
  readonly tls?: boolean;
}

export interface RedisClusterHandle {
  /** The masters first (in slot order), then their replicas. */
  readonly nodes: readonly RedisServer[];
  /** `{ host, port }` seeds for `new Redis.Cluster(...)`. */
  readonly startupNodes: readonly { host: string; port: number }[];
  readonly password: string | undefined;
  /** Shared CA and certificates when started with `tls`. */
  readonly tls: TlsMaterial | undefined;
  /** REDIS_CLUSTER_NODES value: `127.0.0.1:p1,127.0.0.1:p2,...`. */
  readonly nodeList: string;
  /** The variables an app sets to reach this cluster: REDIS_CLUSTER_NODES (+ REDIS_PASSWORD, REDIS_TLS). */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` (default 3) masters, each with `replicas` (default 0)
 * replicas, on loopback ports, optionally with a password and TLS (clients and cluster bus).
 * @example
 * const cluster = await startCluster({ password: 'p'.repeat(32), tls: true });
 * const client = new Cluster(cluster.startupNodes);
 */
export async function startCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const config: Record<string, string> = {
    'cluster-enabled': 'yes',
    'cluster-config-file': 'nodes.conf',
    'cluster-node-timeout': '2000',
  };
  if (options.password !== undefined) config.masterauth = `"${options.password}"`;
  const tlsDir = options.tls ? await mkdtemp(join(tmpdir(), 'sec-cluster-tls-')) : undefined;
  const material = tlsDir ? await makeTlsMaterial(tlsDir) : undefined;
  const cliArgs = material ? ['--tls', '--cacert', material.caFile] : [];
  if (material) {
    // The cluster bus always demands a client certificate, and the server certificate is not valid
    // for client authentication.
    config['tls-client-cert-file'] = material.clientCertFile;
    config['tls-client-key-file'] = material.clientKeyFile;
  }
  const nodes: RedisServer[] = [];
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      nodes.push(
        await startRedis({
          ...(options.password !== undefined && { password: options.password }),
          ...(material && { tls: { material } }),
          config,
        }),
      );
    }
    const target = { port: nodes[0]!.port, password: options.password };
    await redisCli(
      target,
      ...cliArgs,
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    );
    // redis-cli makes the first `masters` nodes masters and the rest their replicas; a replica can
    // only take over once it has synced.
    for (const replica of nodes.slice(masters)) {
      await waitFor(`the replica on port ${replica.port} to sync`, async () =>
        (
          await redisCli(
            { port: replica.port, password: options.password },
            ...cliArgs,
            'INFO',
            'replication',
          )
        ).includes('master_link_status:up'),
      );
    }
    for (const node of nodes) {
      await waitFor(`cluster_state:ok on port ${node.port}`, async () =>
        (
          await redisCli({ port: node.port, password: options.password }, ...cliArgs, 'CLUSTER', 'INFO')
        ).includes('cluster_state:ok'),
      );
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    nodes,
    startupNodes: nodes.map((n) => ({ host: n.host, port: n.port })),
    password: options.password,
    tls: material,
    nodeList: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    env: {
      REDIS_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(','),
      ...(options.password !== undefined && { REDIS_PASSWORD: options.password }),
      ...(material && { REDIS_TLS: 'true', REDIS_TLS_CA_CERT: material.caFile }),
    },
    stop: stopAll,
  };
}
