import calculateSlot from 'cluster-key-slot';
import type { Request, Response } from 'express';
import type { ChainableCommander, Cluster } from 'ioredis';
import type { RedisClient } from './client.js';
import type { RedisGuard } from './guard.js';

/**
 * Redis work as data: commands to add to a shared pipeline, and how to read their replies. All its
 * keys share one Cluster slot (hash tags), named by `slotKey`.
 */
export interface RedisWork<T> {
  /** A key the commands touch: routes the work to its Cluster node. */
  readonly slotKey: string;
  /**
   * Calls its commands, in order, on `target`: the client (each call returns the reply's promise)
   * or a pipeline (each call returns the pipeline). Returns what the calls returned.
   */
  send(target: RedisClient | ChainableCommander): unknown[];
  /** Reads the replies of this work's commands (error replies never reach it). */
  read(replies: readonly unknown[]): T;
}

/**
 * What an admission step answers for a request: let it pass (optionally adding response headers),
 * or refuse it with `status`, which `send` writes.
 */
export type AdmissionVerdict =
  | { readonly kind: 'pass'; apply?(res: Response): void }
  | { readonly kind: 'refuse'; readonly status: number; send(res: Response): void };

/**
 * A step's plan for one request: a verdict reached without Redis (skipped, already known, memory
 * mode), or Redis work whose replies decide, with the verdict for when that work cannot run.
 */
export type AdmissionPlan =
  | { readonly verdict: AdmissionVerdict }
  | {
      readonly work: RedisWork<AdmissionVerdict>;
      fail(error: unknown): Promise<AdmissionVerdict>;
    };

/**
 * One check of a request (a rate limiter, say) that can join others in one pipelined write.
 * Lower packages define it; each package's check implements it; a composer runs them together.
 */
export interface AdmissionStep {
  readonly guard: RedisGuard;
  /** Does the local part of the check (keys, costs) and returns its plan. Never rejects. */
  planAdmission(req: Request): Promise<AdmissionPlan>;
}

/**
 * Which refusal a request gets when several checks refuse it: Redis unavailable (503) first, since
 * no other answer can be trusted then; then authentication and authorisation (401, 403), which the
 * client must fix before a retry makes sense; then rate limits (429); then anything else.
 */
export function refusalRank(status: number): number {
  if (status === 503) return 4;
  if (status === 401 || status === 403) return 3;
  if (status === 429) return 2;
  return 1;
}

/** The node a slot is served by, as ioredis knows it; the slot itself until the map is known. */
function nodeOf(cluster: Cluster, key: string): string {
  const slot = calculateSlot(key);
  return cluster.slots[slot]?.[0] ?? `slot:${slot}`;
}

async function execute(pipeline: ChainableCommander, counts: readonly number[]): Promise<unknown[][]> {
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([error]) => error);
  // One error reply fails the whole admission: its 503 outranks every other answer anyway.
  if (failed) throw failed[0];
  const replies: unknown[][] = [];
  let at = 0;
  for (const count of counts) {
    replies.push(results.slice(at, at + count).map(([, reply]) => reply));
    at += count;
  }
  return replies;
}

/** One pipeline per node, all at once (a Cluster, or a client without auto-pipelining). */
async function pipelined<T>(client: RedisClient, works: readonly RedisWork<T>[]): Promise<unknown[][]> {
  const groups = new Map<string, number[]>();
  works.forEach((work, index) => {
    const node = client.isCluster ? nodeOf(client as Cluster, work.slotKey) : '';
    groups.set(node, [...(groups.get(node) ?? []), index]);
  });
  const byWork: unknown[][] = [];
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = client.pipeline();
      const counts = indexes.map((index) => works[index]!.send(pipeline).length);
      const replies = await execute(pipeline, counts);
      indexes.forEach((index, i) => {
        byWork[index] = replies[i]!;
      });
    }),
  );
  return byWork;
}

/**
 * Every command sent in this tick, straight on an auto-pipelining client: ioredis writes what one
 * tick sends in one write (requests in flight together share it too), without the cost of a
 * Pipeline object per call (about 15 µs of CPU).
 */
async function autoPipelined<T>(client: RedisClient, works: readonly RedisWork<T>[]): Promise<unknown[][]> {
  const calls = works.map((work) => work.send(client) as Promise<unknown>[]);
  const settled = await Promise.all(calls.map((promises) => Promise.allSettled(promises)));
  const replies: unknown[][] = [];
  for (const results of settled) {
    const values: unknown[] = [];
    for (const result of results) {
      // One error reply fails the whole admission: its 503 outranks every other answer anyway.
      if (result.status === 'rejected') throw result.reason;
      values.push(result.value);
    }
    replies.push(values);
  }
  return replies;
}

/**
 * Sends the commands of every work in one write (one round trip) on a standalone or Sentinel
 * connection, or in one write per node, all at once, on a Cluster. Runs through `guard.execute`
 * (breaker, deadline), and rejects as it does when Redis cannot answer or any command gets an error
 * reply. Resolves to each work's result, in order.
 */
export async function runPipelined<T>(guard: RedisGuard, works: readonly RedisWork<T>[]): Promise<T[]> {
  const replies = await guard.execute((client) =>
    !client.isCluster && client.options.enableAutoPipelining
      ? autoPipelined(client, works)
      : pipelined(client, works),
  );
  return works.map((work, index) => work.read(replies[index]!));
}
