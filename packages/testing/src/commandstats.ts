import { redisCli } from './redis-cli.js';
import type { RedisServer } from './redis-server.js';

/** The harness's own probes (its redis-cli connections), left out of command counts. */
const PROBES = new Set(['info', 'auth', 'config|resetstat', 'hello']);

/**
 * What a server did while an action ran, from INFO: `commands`, the calls of every command (Lua
 * scripts' inner calls included, the harness's own probes left out), and `reads`, the read events
 * that delivered client data (`total_reads_processed`): a batch of commands sent in one write is
 * one read, so this is the number of round trips the clients made.
 * @example
 * const stats = await countDuring(redis, () => fetch(url));
 * expect(stats.reads).toBe(1);
 */
export interface ServerStats {
  readonly commands: number;
  readonly reads: number;
  /** Calls per command name (`evalsha`, `get`, …), probes left out. */
  readonly calls: Readonly<Record<string, number>>;
}

async function snapshot(server: RedisServer): Promise<ServerStats> {
  const info = await redisCli(server, 'INFO', 'all');
  const calls: Record<string, number> = {};
  let commands = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (PROBES.has(match[1]!)) continue;
    calls[match[1]!] = Number(match[2]);
    commands += Number(match[2]);
  }
  const reads = Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1]);
  return { commands, reads, calls };
}

// Reads one probe costs on a server (its connection's AUTH, INFO and close): measured once.
const probeReads = new WeakMap<RedisServer, number>();

async function readsPerProbe(server: RedisServer): Promise<number> {
  const known = probeReads.get(server);
  if (known !== undefined) return known;
  const first = await snapshot(server);
  const second = await snapshot(server);
  probeReads.set(server, second.reads - first.reads);
  return second.reads - first.reads;
}

/**
 * Runs `action` and returns what the server did meanwhile (see ServerStats). Run nothing else
 * against the server at the same time: every client's commands and reads are counted.
 */
export async function countDuring(server: RedisServer, action: () => Promise<unknown>): Promise<ServerStats> {
  const probe = await readsPerProbe(server);
  const before = await snapshot(server);
  await action();
  const after = await snapshot(server);
  const calls: Record<string, number> = {};
  for (const [name, count] of Object.entries(after.calls)) {
    const delta = count - (before.calls[name] ?? 0);
    if (delta > 0) calls[name] = delta;
  }
  return { commands: after.commands - before.commands, reads: after.reads - before.reads - probe, calls };
}
