import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './client.js';
import type { Logger } from './logger.js';

/**
 * Watches for a connection that is 'ready' but no longer answers: a frozen primary (a VM pause, a
 * stuck disk, SIGSTOP) keeps its TCP connection open, so ioredis never notices, stays on it and
 * every command times out, while Sentinel may long have promoted a replica. When calls keep timing
 * out on a 'ready' link, or the breaker's probe does, the link is torn down so that the client
 * resolves its target again: a Sentinel client asks the sentinels for the master on every
 * reconnect, and a Cluster client refreshes its slot map.
 */
export class StuckLinkMonitor {
  readonly #client: RedisClient;
  readonly #threshold: number;
  readonly #logger: Logger;
  readonly #name: string;
  #timeouts = 0;

  /** `threshold`: consecutive timeouts on a 'ready' link that condemn it (the breaker's failure threshold). */
  constructor(client: RedisClient, threshold: number, logger: Logger, name: string) {
    this.#client = client;
    this.#threshold = threshold;
    this.#logger = logger;
    this.#name = name;
  }

  /** A call got an answer: the link is alive. */
  answered(): void {
    this.#timeouts = 0;
  }

  /** A call timed out. */
  timedOut(): void {
    if (this.#client.status !== 'ready') return;
    this.#timeouts += 1;
    if (this.#timeouts >= this.#threshold) this.relink(`${this.#timeouts} calls in a row timed out`);
  }

  /**
   * The breaker's probe timed out on a 'ready' link: it would keep doing so for as long as the
   * server stays frozen, so the probe must not be left waiting on it.
   */
  probeTimedOut(): void {
    if (this.#client.status === 'ready') this.relink('the health probe timed out');
  }

  relink(reason: string): void {
    this.#timeouts = 0;
    this.#logger.warn(
      { event: 'redis.relink', redis: this.#name, reason },
      `Redis connection is open but not answering (${reason}); reconnecting to re-resolve the primary`,
    );
    if (this.#client.isCluster) {
      // Commands for the frozen node's slots go to whichever node the fresh map names: its
      // replica once the cluster has failed over.
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
