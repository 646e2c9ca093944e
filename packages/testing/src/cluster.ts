import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCli, waitFor } from './redis-cli.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { makeTlsMaterial, type TlsMaterial } from './tls.js';

export interface RedisClusterOptions {
  readonly masters?: number;
  /** Replicas per master (default 0); `nodes` then holds masters and replicas. */
  readonly replicas?: number;
  readonly password?: string;
  /** TLS for clients and the cluster bus, one CA for all nodes (they verify each other). */
  readonly tls?: boolean;
}

export interface RedisClusterHandle {
  /** Every node, masters and replicas. */
  readonly nodes: readonly RedisServer[];
  /** The nodes that were masters when the cluster was created. */
  readonly masters: readonly RedisServer[];
  /** The nodes that were replicas when the cluster was created (empty without `replicas`). */
  readonly replicas: readonly RedisServer[];
  /** The replica of `master`, if it has one. */
  replicaOf(master: RedisServer): RedisServer | undefined;
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
 * Resolves once every node reports `cluster_state:ok`, every replica is in sync, and every node
 * knows every replica (so any slot map a client fetches lists them).
 * @example
 * const cluster = await startCluster({ password: 'p'.repeat(32), tls: true });
 * const client = new Cluster(cluster.startupNodes);
 * const replicated = await startCluster({ replicas: 1 }); // 3 masters + 3 replicas
 */
export async function startCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicas ?? 0;
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
  const replicaMap = new Map<RedisServer, RedisServer>();
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
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
      String(replicasPerMaster),
      '--cluster-yes',
    );
    const cli = (node: RedisServer, ...args: string[]) =>
      redisCli({ port: node.port, password: options.password }, ...cliArgs, ...args);
    for (const node of nodes) {
      await waitFor(`cluster_state:ok on port ${node.port}`, async () =>
        (await cli(node, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      );
    }
    // CLUSTER SLOTS (what clients read) lists a replica only once the node has heard, by gossip,
    // that the replica holds data; wait until every node's answer names every node.
    for (const node of nodes) {
      await waitFor(`port ${node.port} to list every node in CLUSTER SLOTS`, async () => {
        const slots = await cli(node, 'CLUSTER', 'SLOTS');
        return nodes.every((n) => slots.includes(`\n${n.port}\n`));
      });
    }
    for (const node of nodes) {
      const role = await cli(node, 'ROLE');
      if (role.startsWith('slave')) {
        const masterPort = Number(role.split('\n')[2]);
        const master = nodes.find((n) => n.port === masterPort);
        if (master) replicaMap.set(master, node);
        await waitFor(`replica ${node.port} to sync`, async () =>
          (await cli(node, 'INFO', 'replication')).includes('master_link_status:up'),
        );
      }
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const replicas = [...replicaMap.values()];
  return {
    nodes,
    masters: nodes.filter((n) => !replicas.includes(n)),
    replicas,
    replicaOf: (master) => replicaMap.get(master),
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
