import { type RedisClient, type RedisGuard, RedisUnavailableError } from '@sec/redis-guard';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '@sec/redis-guard/internal';
import type { Cluster, Redis } from 'ioredis';
import { SessionErrorCode } from './errors.js';
import type { LuaScript } from './lua.js';

type Topology = 'standalone' | 'sentinel' | 'cluster';

function topologyOf(client: RedisClient): Topology {
  if (client.isCluster) return 'cluster';
  return (client as Redis).options?.sentinels?.length ? 'sentinel' : 'standalone';
}

/**
 * Makes revocations and role changes survive a failover. Redis replicates asynchronously: a
 * primary that dies right after a revoke can hand over to a replica that never saw it, and the
 * revoked session comes back. So each such write is followed by `WAIT <n> <ms>` on the very
 * connection that made it (WAIT counts that connection's writes), and fails with a 503 (safe to
 * retry: the primary has it) when the replicas do not confirm in time.
 *
 * The write and its WAIT travel as one pipeline on a connection of their own: WAIT blocks the
 * connection it runs on, so request traffic never queues behind a slow replica, and on a Cluster
 * a pipeline goes, whole, to the primary of its key's slot.
 *
 * How many replicas must confirm: an explicit `replicaAcks`, or with 'auto' one on a Sentinel
 * deployment (Sentinel implies a replica), one on a Cluster whose slot map lists replicas, and
 * none on a standalone server.
 */
export class Durability {
  readonly #guard: RedisGuard;
  readonly #wanted: number | 'auto';
  readonly #waitMs: number;
  readonly #topology: Topology | undefined;
  readonly #connection: RedisClient | undefined;
  readonly #commandTimeoutMs: number;

  constructor(guard: RedisGuard, wanted: number | 'auto', waitMs: number) {
    this.#guard = guard;
    this.#wanted = wanted;
    this.#waitMs = waitMs;
    const client = guard.client;
    this.#topology = client ? topologyOf(client) : undefined;
    const mayWait = wanted === 'auto' ? this.#topology !== 'standalone' : wanted > 0;
    this.#commandTimeoutMs = client ? commandTimeoutOf(client) : DEFAULT_COMMAND_TIMEOUT_MS;
    if (client && mayWait) this.#connection = duplicateFor(client, waitMs, this.#commandTimeoutMs);
  }

  /** Replicas this write must wait for, decided now: a Cluster's slot map changes over time. */
  #acks(): number {
    if (!this.#connection) return 0;
    if (this.#wanted !== 'auto') return this.#wanted;
    if (this.#topology === 'sentinel') return 1;
    return (this.#guard.client as Cluster).nodes('slave').length > 0 ? 1 : 0;
  }

  /** Runs the script through the guard, then (when replicas must confirm) WAITs on its connection. */
  async run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const acks = this.#acks();
    const connection = this.#connection;
    if (acks === 0 || !connection) return this.#guard.execute((c) => script.run(c, keys, args));
    const waitMs = this.#waitMs;
    const [result, acked] = await this.#guard.execute(
      async () => {
        if (connection.status !== 'ready') await readyWithin(connection, waitMs);
        const replies = await scriptThenWait(connection, script.source, keys, args, acks, waitMs);
        if (replies[0] instanceof Error) throw replies[0];
        if (replies[1] instanceof Error) throw replies[1];
        return replies;
      },
      // WAIT blocks for up to waitMs by design; the call's deadline leaves room for it.
      { timeoutMs: waitMs + this.#commandTimeoutMs },
    );
    // Outside execute(): replicas that are late say nothing about the primary's link, so this must
    // not count against the breaker.
    if (Number(acked) < acks) {
      throw new RedisUnavailableError(
        SessionErrorCode.NotReplicated,
        `only ${Number(acked)} of ${acks} replica(s) confirmed the change within ${waitMs} ms; it was applied on the primary, retry to confirm`,
        1,
      );
    }
    return result;
  }

  close(): void {
    this.#connection?.disconnect();
  }
}

/**
 * One pipeline: the script, then WAIT on the same connection. Replies are values or Errors. The
 * script goes as EVAL, not EVALSHA: a NOSCRIPT retry would send a second WAIT, and revocations
 * are rare enough that the source's few hundred bytes do not matter (Redis caches the compiled
 * script by its hash either way).
 */
async function scriptThenWait(
  connection: RedisClient,
  source: string,
  keys: readonly string[],
  args: readonly (string | number)[],
  acks: number,
  waitMs: number,
): Promise<[unknown, unknown]> {
  const pipeline = connection.pipeline();
  pipeline.eval(source, keys.length, ...keys, ...args);
  pipeline.call('WAIT', String(acks), String(waitMs));
  const replies = (await pipeline.exec()) ?? [];
  const [first, second] = replies;
  return [first?.[0] ?? first?.[1], second?.[0] ?? second?.[1]];
}

/**
 * A connection for WAIT alone, with room in its command timeout for the wait itself. ioredis
 * re-resolves the Sentinel master and the Cluster slot map for it as for the original.
 */
function duplicateFor(client: RedisClient, waitMs: number, baseTimeoutMs: number): RedisClient {
  const commandTimeout = waitMs + baseTimeoutMs;
  // A WAIT receives nothing until it returns: a socketTimeout inherited from the client (meant for
  // quick commands) would cut every long wait, so the silence allowed grows with it.
  const socketTimeout = 2 * commandTimeout;
  const connection: RedisClient = client.isCluster
    ? (client as Cluster).duplicate(undefined, {
        redisOptions: { ...(client as Cluster).options.redisOptions, commandTimeout, socketTimeout },
      })
    : (client as Redis).duplicate({ commandTimeout, socketTimeout });
  // Its failures surface as rejected calls (503); the main client already logs the outage.
  connection.on('error', () => undefined);
  if (client.isCluster) connection.on('node error', () => undefined);
  return connection;
}

/** The client's own command timeout, the base of the WAIT connection's. */
function commandTimeoutOf(client: RedisClient): number {
  const ms = client.isCluster
    ? (client as Cluster).options.redisOptions?.commandTimeout
    : (client as Redis).options.commandTimeout;
  return ms ?? DEFAULT_COMMAND_TIMEOUT_MS;
}

/** Waits for a connection that is still (re)connecting, but never longer than `ms`. */
function readyWithin(client: RedisClient, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`revocation connection is ${client.status}`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
