import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCli, waitFor } from './redis-cli.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { makeTlsMaterial, type TlsMaterial } from './tls.js';

export interface RedisClusterOptions {
  readonly masters?: number;
  readonly password?: string;
  /** TLS for clients and the cluster bus, one CA for all nodes (they verify each other). */
  readonly tls?: boolean;
}

export interface RedisClusterHandle {
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
 * Starts a Redis Cluster of `masters` (default 3) masters with no replicas on loopback ports,
 * optionally with a password and TLS (clients and cluster bus).
 * @example
 * const cluster = await startCluster({ password: 'p'.repeat(32), tls: true });
 * const client = new Cluster(cluster.startupNodes);
 */
export async function startCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
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
    for (let i = 0; i < masters; i++) {
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
      '0',
      '--cluster-yes',
    );
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
