import { createHash } from 'node:crypto';
import type { RedisClient, RedisGuard } from '@sec/redis-guard';
import type { Cluster, Redis } from 'ioredis';

/** One page of a namespace scan; `cursor` is undefined once every node has been walked. */
export interface ScanPage {
  readonly keys: readonly string[];
  readonly cursor: string | undefined;
}

/** Where encrypted entries live: Redis through the guard, or a Map in memory mode. */
export interface EntryStore {
  get(key: string): Promise<string | null>;
  set(key: string, token: string, ttlMs: number): Promise<void>;
  del(key: string): Promise<boolean>;
  /** `cursor` as returned by the previous page; undefined starts from the beginning. */
  scan(cursor: string | undefined, match: string, count: number): Promise<ScanPage>;
  /** Writes `next` only if the entry still holds `expected`, keeping its TTL. */
  replaceIfUnchanged(key: string, expected: string, next: string): Promise<boolean>;
}

// KEEPTTL (Redis >= 6.0) keeps the remaining TTL atomically; comparing inside the script means a
// value written between our GET and this write is never overwritten by a rotation.
export const REPLACE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0`;
const REPLACE_SHA = createHash('sha1').update(REPLACE_SCRIPT).digest('hex');
const CLUSTER_CURSOR = '#';

function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

function address(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

async function replace(client: RedisClient, key: string, expected: string, next: string): Promise<boolean> {
  try {
    return (await client.evalsha(REPLACE_SHA, 1, key, expected, next)) === 1;
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return (await client.eval(REPLACE_SCRIPT, 1, key, expected, next)) === 1;
  }
}

/**
 * Walks every master of a Cluster in address order (a Cluster spreads a namespace over all of
 * them), so the cursor `host:port#n` stays meaningful when the client reconnects or a node leaves:
 * we resume at the first master whose address sorts at or after it.
 */
async function scanCluster(
  client: Cluster,
  cursor: string | undefined,
  match: string,
  count: number,
): Promise<ScanPage> {
  const masters = [...client.nodes('master')].sort((a, b) => address(a).localeCompare(address(b)));
  const split = cursor?.lastIndexOf(CLUSTER_CURSOR) ?? -1;
  const at = cursor === undefined || split === -1 ? '' : cursor.slice(0, split);
  const index = masters.findIndex((node) => address(node).localeCompare(at) >= 0);
  const node = masters[index];
  if (node === undefined) return { keys: [], cursor: undefined };
  const position = address(node) === at && cursor !== undefined ? cursor.slice(split + 1) : '0';
  const [next, keys] = await node.scan(position, 'MATCH', match, 'COUNT', count);
  if (next !== '0') return { keys, cursor: `${address(node)}${CLUSTER_CURSOR}${next}` };
  const following = masters[index + 1];
  return { keys, cursor: following === undefined ? undefined : `${address(following)}${CLUSTER_CURSOR}0` };
}

/** Commands the store sends itself; the replace script's own calls are read from its source. */
export const STORE_COMMANDS = ['get', 'set', 'del', 'scan', 'evalsha', 'eval'];

/**
 * Entries in Redis; every call goes through the guard's breaker and timeout.
 */
export function redisStore(guard: RedisGuard): EntryStore {
  return {
    get: (key) => guard.execute((c) => c.get(key)),
    async set(key, token, ttlMs) {
      await guard.execute((c) => c.set(key, token, 'PX', ttlMs));
    },
    del: async (key) => (await guard.execute((c) => c.del(key))) > 0,
    scan: (cursor, match, count) =>
      guard.execute(async (c) => {
        if (isCluster(c)) return scanCluster(c, cursor, match, count);
        const [next, keys] = await c.scan(cursor ?? '0', 'MATCH', match, 'COUNT', count);
        return { keys, cursor: next === '0' ? undefined : next };
      }),
    replaceIfUnchanged: (key, expected, next) => guard.execute((c) => replace(c, key, expected, next)),
  };
}

/**
 * Entries in this process (memory mode, development and test only). Expired entries are dropped
 * when read and swept every 1000 writes, so the Map cannot grow without bound on unread keys.
 */
export function memoryStore(now: () => number = Date.now): EntryStore {
  const entries = new Map<string, { token: string; expiresAt: number }>();
  let writes = 0;
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  const sweep = () => {
    for (const key of entries.keys()) live(key);
  };
  return {
    get: async (key) => live(key)?.token ?? null,
    async set(key, token, ttlMs) {
      if (++writes % 1000 === 0) sweep();
      entries.set(key, { token, expiresAt: now() + ttlMs });
    },
    del: async (key) => live(key) !== undefined && entries.delete(key),
    async scan(cursor, match, count) {
      const prefix = match.slice(0, -1);
      const start = Number(cursor ?? 0);
      const page = [...entries.keys()].slice(start, start + count);
      const next = start + page.length;
      return {
        keys: page.filter((k) => k.startsWith(prefix)),
        cursor: next >= entries.size ? undefined : String(next),
      };
    },
    async replaceIfUnchanged(key, expected, next) {
      const entry = live(key);
      if (entry?.token !== expected) return false;
      entry.token = next;
      return true;
    },
  };
}
