import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './client.js';
import type { Logger } from './logger.js';

/**
 * Watches for a connection that is 'ready' but no longer answers: a frozen primary (a VM pause, a
 * stuck disk, SIGSTOP) keeps its TCP connection open, so ioredis never notices, stays on it and
 * every command times out, while Sentinel or the Cluster may long have promoted a replica. The
 * link is then torn down so that the client resolves its target again: a Sentinel client asks the
 * sentinels for the master on every reconnect, and a Cluster client refreshes its slot map.
 */
export class StuckLinkMonitor {
  readonly #client: RedisClient;
  readonly #threshold: number;
  readonly #minIntervalMs: number;
  readonly #logger: Logger;
  readonly #name: string;
  #timeouts = 0;
  #lastRelink = Number.NEGATIVE_INFINITY;

  /**
   * `threshold`: consecutive timeouts on a 'ready' link that condemn it (the breaker's failure
   * threshold). `minIntervalMs`: the least time between two re-resolutions (the command timeout).
   */
  constructor(client: RedisClient, threshold: number, minIntervalMs: number, logger: Logger, name: string) {
    this.#client = client;
    this.#threshold = threshold;
    this.#minIntervalMs = minIntervalMs;
    this.#logger = logger;
    this.#name = name;
  }

  /** A call got an answer: the link is alive. */
  answered(): void {
    this.#timeouts = 0;
  }

  /**
   * A call timed out. One link carries everything on a standalone or Sentinel client, so it is
   * condemned after `threshold` timeouts in a row. A Cluster has a link per node and calls to the
   * healthy nodes keep succeeding in between, so any timeout there re-reads the slot map (at most
   * once per interval): after a failover the frozen node's slots belong to its promoted replica.
   */
  timedOut(): void {
    if (this.#client.status !== 'ready') return;
    if (this.#client.isCluster) {
      this.#relinkThrottled('a call timed out');
      return;
    }
    this.#timeouts += 1;
    if (this.#timeouts >= this.#threshold)
      this.#relinkThrottled(`${this.#timeouts} calls in a row timed out`);
  }

  /**
   * The breaker's probe timed out on a 'ready' link: it would keep doing so for as long as the
   * server stays frozen, so the probe must not be left waiting on it.
   */
  probeTimedOut(): void {
    if (this.#client.status === 'ready') this.#relinkThrottled('the health probe timed out');
  }

  #relinkThrottled(reason: string): void {
    const now = performance.now();
    if (now - this.#lastRelink < this.#minIntervalMs) return;
    this.#lastRelink = now;
    this.#timeouts = 0;
    this.#logger.warn(
      { event: 'redis.relink', redis: this.#name, reason },
      `Redis connection is open but not answering (${reason}); reconnecting to re-resolve the primary`,
    );
    if (this.#client.isCluster) {
      (this.#client as Cluster).refreshSlotsCache();
      return;
    }
    // disconnect(true) would end() the socket and wait for the frozen peer's FIN (up to
    // disconnectTimeout, 2 s) while still writing commands to it; destroying it closes it at once,
    // ioredis rejects what was in flight, and its retryStrategy reconnects (asking the sentinels
    // again on a Sentinel client).
    (this.#client as Redis).stream?.destroy();
  }
}
