import { redisCli, waitFor } from './redis-cli.js';
import { type RedisServer, startRedis } from './redis-server.js';

export interface RedisClusterOptions {
  readonly masters?: number;
  readonly password?: string;
}

export interface RedisClusterHandle {
  readonly nodes: readonly RedisServer[];
  /** `{ host, port }` seeds for `new Redis.Cluster(...)`. */
  readonly startupNodes: readonly { host: string; port: number }[];
  readonly password: string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` (default 3) masters with no replicas on loopback ports.
 * @example
 * const cluster = await startCluster();
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
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startRedis({ ...(options.password !== undefined && { password: options.password }), config }),
      );
    }
    const target = { port: nodes[0]!.port, password: options.password };
    await redisCli(
      target,
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    );
    for (const node of nodes) {
      await waitFor(`cluster_state:ok on port ${node.port}`, async () =>
        (await redisCli({ port: node.port, password: options.password }, 'CLUSTER', 'INFO')).includes(
          'cluster_state:ok',
        ),
      );
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  return {
    nodes,
    startupNodes: nodes.map((n) => ({ host: n.host, port: n.port })),
    password: options.password,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
