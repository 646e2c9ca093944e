import type { RedisClient, RedisGuard } from '@sec/redis-guard';
import type { ChainableCommander } from 'ioredis';
import { limiterPrefix } from './key-names.js';
import { defineScripts, type ScriptedClient } from './scripts.js';
import { failedCall, runCounted, type StoreResult } from './store.js';
import type { CounterWindow } from './windows.js';

/** One window's counter after a request: points counted in it, and ms until it resets. */
export interface WindowState {
  readonly used: number;
  readonly msBeforeNext: number;
}

/** The answer for one request across a limiter's windows (in the limiter's window order). */
export interface WindowCount {
  readonly allowed: boolean;
  readonly windows: readonly WindowState[];
  /** Counted in this process's memory (memory mode, or an outage on a guard that does not fail closed). */
  readonly local?: true;
}

/** A client's counters as the Redis script expects them: keys, then arguments. */
export interface WindowCall {
  readonly keys: readonly string[];
  readonly args: readonly number[];
}

/** The memory counters sweep expired entries once they hold this many more than after the last sweep. */
const SWEEP_AFTER = 1_000;

/**
 * The process-local twin of CONSUME_SCRIPT, for memory mode and for Redis outages on guards that do
 * not fail closed. Synchronous, hence atomic in this process. Expired entries are swept as the map
 * grows, so it holds at most the keys seen in the longest window plus one sweep interval.
 */
class MemoryWindows {
  readonly #counters = new Map<string, { used: number; expiresAt: number }>();
  #sweepAt = SWEEP_AFTER;

  consume(keys: readonly string[], windows: readonly CounterWindow[], cost: number, blockMs: number) {
    const now = Date.now();
    const current = keys.map((key) => {
      const entry = this.#counters.get(key);
      return entry && entry.expiresAt > now ? entry : undefined;
    });
    const refused = windows.map((window, i) => (current[i]?.used ?? 0) + cost > window.points);
    const allowed = !refused.includes(true);
    const states = windows.map((window, i): WindowState => {
      const entry = current[i];
      if (allowed) {
        const next = entry
          ? { used: entry.used + cost, expiresAt: entry.expiresAt }
          : { used: cost, expiresAt: now + window.windowMs };
        this.#counters.set(keys[i]!, next);
        return { used: next.used, msBeforeNext: next.expiresAt - now };
      }
      if (refused[i] && blockMs > (entry ? entry.expiresAt - now : 0)) {
        this.#counters.set(keys[i]!, { used: window.points, expiresAt: now + blockMs });
        return { used: window.points, msBeforeNext: blockMs };
      }
      return { used: entry?.used ?? 0, msBeforeNext: entry ? entry.expiresAt - now : window.windowMs };
    });
    this.#sweep(now);
    return { allowed, windows: states, local: true as const };
  }

  delete(keys: readonly string[]): void {
    for (const key of keys) this.#counters.delete(key);
  }

  #sweep(now: number): void {
    if (this.#counters.size < this.#sweepAt) return;
    for (const [key, entry] of this.#counters) if (entry.expiresAt <= now) this.#counters.delete(key);
    this.#sweepAt = this.#counters.size + SWEEP_AFTER;
  }
}

/**
 * The counters of a limiter with one or more windows: one key per window under the client's hash
 * tag (one Cluster slot), all decided by one script call, so a request is counted in every window or
 * in none and several windows cost no more round trips than one.
 */
export class WindowStore {
  readonly #guard: RedisGuard;
  readonly #name: string;
  readonly #windows: readonly CounterWindow[];
  readonly #blockMs: number;
  readonly #prefix: string;
  readonly #scripts: ScriptedClient | undefined;
  #memory: MemoryWindows | undefined;

  constructor(guard: RedisGuard, name: string, windows: readonly CounterWindow[], blockMs: number) {
    this.#guard = guard;
    this.#name = name;
    this.#windows = windows;
    this.#blockMs = blockMs;
    this.#prefix = `${limiterPrefix(guard, name)}:`;
    if (guard.client) this.#scripts = defineScripts(guard.client);
  }

  /** True when counts go to Redis (false in memory mode). */
  get redis(): boolean {
    return this.#scripts !== undefined;
  }

  /** The script call for a client's storage key (see storageKey) and a cost. */
  call(storageKey: string, cost: number): WindowCall {
    const args: number[] = [cost, this.#blockMs];
    for (const window of this.#windows) args.push(window.points, window.windowMs);
    return { keys: this.#keys(storageKey), args };
  }

  /** Sends the call on a client or a pipeline (ioredis sends EVALSHA, or EVAL the first time on a connection). */
  send(target: RedisClient | ChainableCommander, call: WindowCall): unknown {
    return (target as unknown as ScriptedClient).secRateLimitConsume(
      call.keys.length,
      ...call.keys,
      ...call.args,
    );
  }

  /** Reads the script's reply. */
  read(reply: unknown): WindowCount {
    const values = (reply as unknown[]).map(Number);
    const windows = this.#windows.map((window, i): WindowState => {
      const used = values[1 + 2 * i] ?? 0;
      const ttl = values[2 + 2 * i] ?? 0;
      // A window with no counter yet (the request was refused by another) would start now.
      return { used, msBeforeNext: ttl > 0 ? ttl : window.windowMs };
    });
    return { allowed: values[0] === 1, windows };
  }

  consume(storageKey: string, cost: number): Promise<StoreResult<WindowCount>> {
    const call = this.call(storageKey, cost);
    return runCounted(
      this.#guard,
      this.#name,
      this.#scripts &&
        (async () =>
          this.read(await this.#scripts!.secRateLimitConsume(call.keys.length, ...call.keys, ...call.args))),
      () => this.inMemory(call),
    );
  }

  /** What a failed pipelined call resolves to: 503 on fail-closed guards, else the memory count. */
  failed(call: WindowCall, reason: unknown): Promise<StoreResult<WindowCount>> {
    return failedCall(this.#guard, this.#name, reason, () => this.inMemory(call));
  }

  inMemory(call: WindowCall): WindowCount {
    this.#memory ??= new MemoryWindows();
    return this.#memory.consume(call.keys, this.#windows, call.args[0]!, this.#blockMs);
  }

  delete(storageKey: string): Promise<StoreResult<void>> {
    const keys = this.#keys(storageKey);
    return runCounted(
      this.#guard,
      this.#name,
      this.#scripts && (async () => void (await this.#guard.client!.del(...keys))),
      () => this.#memory?.delete(keys),
    );
  }

  #keys(storageKey: string): string[] {
    return this.#windows.map((window) => `${this.#prefix}${storageKey}${window.keySuffix}`);
  }
}
