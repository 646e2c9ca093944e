import type { RedisClient } from '@sec/redis-guard';

/**
 * One Redis command as data: its name, then its arguments.
 * @example const command: RedisCommand = ['hget', 'sec:sess:{u:42}', handle];
 */
export type RedisCommand = readonly [name: string, ...args: (string | number)[]];

/**
 * Read-only Redis work as data: the commands to send (their keys in one Cluster slot) and the
 * function that reads their replies. A caller may send the commands alone (runQuery) or in one
 * pipeline with other work, and still decide from the replies the same way.
 * @example const lookup = await runQuery(client, store.lookupQuery(ref));
 */
export interface RedisQuery<T> {
  readonly commands: readonly RedisCommand[];
  decode(replies: readonly unknown[]): T;
}

/**
 * Sends a query's commands at once (auto-pipelined by the client into one write) and decodes
 * the replies.
 * @example const found = await guard.execute((c) => runQuery(c, query));
 */
export async function runQuery<T>(client: RedisClient, query: RedisQuery<T>): Promise<T> {
  const replies = await Promise.all(query.commands.map(([name, ...args]) => client.call(name, ...args)));
  return query.decode(replies);
}
