import { type RedisGuard, SecError } from '@sec/redis-guard';
import type { RequestHandler } from 'express';
import {
  type ClusterMessage,
  type ClusterSnapshot,
  isMessage,
  MESSAGES,
  type ReportMessage,
  type ViewersMessage,
  type WatchMessage,
  type WorkerStats,
} from './messages.js';

/** To the primary, when this process is a connected cluster worker (a closed channel would throw). */
function send(message: ViewersMessage | ReportMessage): void {
  if (process.connected && process.send) process.send(message);
}

/** How often a watched worker reports (and pings Redis). */
export const REPORT_INTERVAL_MS = 1_000;

/**
 * In a worker: counts the HTTP requests it serves, and while any worker in the cluster holds a
 * dashboard stream, reports its figures to the primary once a second with the latest Redis PING.
 * The PING goes through the guard (and its breaker) like any other call, so a frozen Redis shows
 * up here as timeouts and then an open breaker. Cluster snapshots from the primary are handed to
 * `onSnapshot` listeners.
 */
export class WorkerStatsReporter {
  readonly #workerId: string;
  readonly #guard: RedisGuard;
  readonly #listeners = new Set<(snapshot: ClusterSnapshot) => void>();
  #requests = 0;
  #viewers = 0;
  #timer: NodeJS.Timeout | undefined;
  #latency: { ms: number | null; error?: string } = { ms: null };
  #pingStarted: number | undefined;
  readonly #onMessage = (message: unknown) => {
    if (isMessage<WatchMessage>(message, MESSAGES.watch)) this.#watch(message.active);
    else if (isMessage<ClusterMessage>(message, MESSAGES.cluster))
      for (const listener of this.#listeners) listener(message.snapshot);
  };

  constructor(workerId: string, guard: RedisGuard) {
    this.#workerId = workerId;
    this.#guard = guard;
    process.on('message', this.#onMessage);
  }

  /** Express middleware that counts one served request. */
  readonly count: RequestHandler = (_req, _res, next) => {
    this.#requests++;
    next();
  };

  /** Dashboard streams this worker holds; the primary starts and stops reporting on it. */
  setViewers(count: number): void {
    if (count === this.#viewers) return;
    this.#viewers = count;
    send({ type: MESSAGES.viewers, count } satisfies ViewersMessage);
  }

  onSnapshot(listener: (snapshot: ClusterSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stats(): WorkerStats {
    const waiting =
      this.#pingStarted !== undefined && performance.now() - this.#pingStarted > REPORT_INTERVAL_MS;
    const { state } = this.#guard.breaker.snapshot();
    return {
      id: this.#workerId,
      pid: process.pid,
      uptimeSeconds: Math.round(process.uptime()),
      requests: this.#requests,
      breaker: state,
      redisLatencyMs: waiting ? null : this.#latency.ms,
      ...(this.#guard.mode === 'memory' && { redisError: 'memory mode: no Redis' }),
      ...(waiting
        ? { redisError: 'no answer' }
        : this.#latency.error !== undefined && { redisError: this.#latency.error }),
      viewers: this.#viewers,
      reportedAt: Date.now(),
    };
  }

  close(): void {
    this.#watch(false);
    process.off('message', this.#onMessage);
    this.#listeners.clear();
  }

  #watch(active: boolean): void {
    if (!active) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#timer) return;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), REPORT_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Reports now with the latest PING, and starts the next PING unless one is still waiting. */
  #tick(): void {
    if (this.#pingStarted === undefined && this.#guard.mode !== 'memory') {
      this.#pingStarted = performance.now();
      this.#guard
        .ping()
        .then(
          (ms) => {
            this.#latency = { ms: Math.round(ms * 10) / 10 };
          },
          (error: unknown) => {
            this.#latency = { ms: null, error: error instanceof SecError ? error.code : 'error' };
          },
        )
        .finally(() => {
          this.#pingStarted = undefined;
        });
    }
    send({ type: MESSAGES.report, stats: this.stats() } satisfies ReportMessage);
  }
}
