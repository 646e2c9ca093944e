import type { RedisClient, RedisGuard } from '@sec/redis-guard';
import { ConfigurationError, RedisUnavailableError, scrubError } from '@sec/redis-guard';
import type { Cluster, Redis } from 'ioredis';
import { SessionErrorCode } from './errors.js';
import { dispatch, parseEvent, type SessionEvent, type SessionEventListener } from './events.js';
import { SCRIPTS } from './lua.js';
import {
  deadlineOf,
  decodeRecord,
  decodeRoles,
  encodeRecord,
  encodeRoles,
  type SessionCheck,
  type SessionStore,
  type StoredSession,
} from './store.js';

/**
 * Key prefix and event channel of a RedisSessionStore.
 * @example new RedisSessionStore(guard, { keyPrefix: 'sec:', channel: 'sec:session:events' });
 */
export interface RedisStoreSettings {
  /** Prefix of every key, e.g. 'sec:'. */
  readonly keyPrefix: string;
  /** Pub/Sub channel for audit events; '' to publish nothing. */
  readonly channel: string;
  /** Replicas that must acknowledge revocations and role changes (WAIT); 0 to not wait. */
  readonly replicaAcks: number;
  readonly replicaWaitMs: number;
}

/**
 * Sessions in Redis. One user's data shares the hash tag `{u:<userId>}`, so it sits in one
 * Cluster slot and every script below touches a single slot:
 * - `<prefix>sess:{u:<id>}` — hash, one field per session (handle → record), expiring with the
 *   user's last session;
 * - `<prefix>user:{u:<id>}` — hash with the user's `roles`, read with the session on each request.
 * Every call goes through `guard.execute`, so an outage fails fast through the breaker.
 * @example const store = new RedisSessionStore(guard, { keyPrefix: 'sec:', channel: '' });
 */
export class RedisSessionStore implements SessionStore {
  readonly #guard: RedisGuard;
  readonly #settings: RedisStoreSettings;
  readonly #listeners = new Set<SessionEventListener>();
  #subscriber: RedisClient | undefined;
  /**
   * WAIT blocks the connection it runs on until replicas catch up, so revocations and role
   * changes get their own connection: request traffic never queues behind a slow replica.
   */
  readonly #durable: Redis | undefined;

  constructor(guard: RedisGuard, settings: RedisStoreSettings) {
    this.#guard = guard;
    this.#settings = settings;
    if (settings.replicaAcks > 0 && guard.client) {
      this.#durable = (guard.client as Redis).duplicate();
      // Its failures surface as rejected calls (503); the main client already logs the outage.
      this.#durable.on('error', () => undefined);
    }
  }

  /**
   * Runs a security-relevant write and, when replicas must acknowledge it, WAITs for them. If they
   * do not confirm in time the call fails (503, safe to retry): a failover could otherwise promote
   * a replica that never saw the revocation, and the revoked session would come back.
   */
  #durably<T>(write: (client: RedisClient) => Promise<T>): Promise<T> {
    const durable = this.#durable;
    if (!durable) return this.#guard.execute(write);
    const { replicaAcks, replicaWaitMs } = this.#settings;
    return this.#guard.execute(async () => {
      if (durable.status !== 'ready') await readyWithin(durable, replicaWaitMs);
      const result = await write(durable);
      const acked = Number(await durable.call('WAIT', String(replicaAcks), String(replicaWaitMs)));
      if (acked < replicaAcks) {
        throw new RedisUnavailableError(
          SessionErrorCode.NotReplicated,
          `only ${acked} of ${replicaAcks} replica(s) confirmed the change within ${replicaWaitMs} ms; it was applied on the primary, retry to confirm`,
          1,
        );
      }
      return result;
    });
  }

  #keys(userId: string): [sessions: string, user: string] {
    const tag = `{u:${userId}}`;
    return [`${this.#settings.keyPrefix}sess:${tag}`, `${this.#settings.keyPrefix}user:${tag}`];
  }

  async create(
    userId: string,
    session: StoredSession,
    roles: readonly string[] | undefined,
    retentionMs: number,
    event: SessionEvent,
  ) {
    const keys = this.#keys(userId);
    const ttl = deadlineOf(session) - session.lastSeenAt;
    await this.#guard.execute((c) =>
      SCRIPTS.create.run(c, keys, [
        session.handle,
        encodeRecord(session),
        ttl,
        roles ? '1' : '0',
        roles ? encodeRoles(roles) : '',
        retentionMs,
        this.#settings.channel,
        JSON.stringify(event),
        session.createdAt,
      ]),
    );
  }

  async check(userId: string, handle: string, check: SessionCheck) {
    const reply = await this.#guard.execute((c) =>
      SCRIPTS.check.run(c, this.#keys(userId), [
        handle,
        check.tokenHash ?? '',
        check.now,
        check.touchAfterMs,
        check.withRoles ? '1' : '0',
      ]),
    );
    return typeof reply === 'string' ? decodeRoles(reply) : undefined;
  }

  async read(userId: string, handle: string, now: number) {
    const [sessions, user] = this.#keys(userId);
    // Same slot, one round trip: MULTI keeps the record and the roles consistent with each other.
    const replies = await this.#guard.execute((c) =>
      c.multi().hget(sessions, handle).hget(user, 'roles').exec(),
    );
    const record = replies?.[0]?.[1];
    const session = typeof record === 'string' ? decodeRecord(handle, record) : undefined;
    if (!session || now >= deadlineOf(session)) return undefined;
    return { session, roles: decodeRoles(replies?.[1]?.[1] as string | null) };
  }

  async list(userId: string, now: number) {
    const reply = (await this.#guard.execute((c) => SCRIPTS.list.run(c, this.#keys(userId), [now]))) as [
      string[],
      string,
    ];
    const [flat, roles] = reply;
    const sessions: StoredSession[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const session = decodeRecord(flat[i]!, flat[i + 1]!);
      if (session) sessions.push(session);
    }
    return { sessions, roles: decodeRoles(roles) };
  }

  async revoke(userId: string, handle: string, now: number, event: SessionEvent) {
    const [sessions] = this.#keys(userId);
    const removed = await this.#durably((c) =>
      SCRIPTS.revoke.run(c, [sessions], [handle, now, this.#settings.channel, JSON.stringify(event)]),
    );
    return removed === 1;
  }

  async revokeAll(userId: string, now: number, event: SessionEvent) {
    const [sessions] = this.#keys(userId);
    const count = await this.#durably((c) =>
      SCRIPTS.revokeAll.run(c, [sessions], [now, this.#settings.channel, JSON.stringify(event)]),
    );
    return Number(count);
  }

  async setRoles(
    userId: string,
    roles: readonly string[],
    _now: number,
    retentionMs: number,
    event: SessionEvent,
  ) {
    const [, user] = this.#keys(userId);
    await this.#durably((c) =>
      SCRIPTS.setRoles.run(
        c,
        [user],
        [encodeRoles(roles), retentionMs, this.#settings.channel, JSON.stringify(event)],
      ),
    );
  }

  async publish(event: SessionEvent) {
    if (!this.#settings.channel) return;
    await this.#guard.execute((c) => c.publish(this.#settings.channel, JSON.stringify(event)));
  }

  /**
   * Listens on the event channel over a dedicated connection (a subscribed connection cannot run
   * other commands), opened on first use; ioredis re-subscribes after reconnects.
   */
  subscribe(listener: SessionEventListener) {
    this.#listeners.add(listener);
    if (!this.#subscriber && this.#settings.channel) this.#subscriber = this.#openSubscriber();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #openSubscriber(): RedisClient {
    const channel = this.#settings.channel;
    const logger = this.#guard.logger;
    const client = this.#guard.client!;
    const subscriber: RedisClient = client.isCluster
      ? (client as Cluster).duplicate()
      : (client as Redis).duplicate();
    const seen = new Set<string>();
    subscriber.on('error', (error: unknown) => {
      const safe = scrubError(error, this.#guard.secrets());
      if (seen.has(safe.message)) return;
      seen.add(safe.message);
      logger.error(
        { event: 'session.subscriber_error', err: safe },
        `session event subscriber: ${safe.message}`,
      );
    });
    subscriber.once('ready', () => {
      seen.clear();
      subscriber.subscribe(channel).catch((error: unknown) => {
        logger.error(
          { event: 'session.subscriber_error', err: scrubError(error, this.#guard.secrets()) },
          'cannot subscribe',
        );
      });
    });
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const event = parseEvent(message);
      if (event) dispatch(this.#listeners, event, logger);
    });
    return subscriber;
  }

  async close() {
    this.#listeners.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
    this.#durable?.disconnect();
  }
}

/** Waits for a connection that is still (re)connecting, but never longer than `ms`. */
function readyWithin(client: Redis, ms: number): Promise<void> {
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

/**
 * Sentinel deployments fail over to a replica, which must already hold every revocation; a
 * standalone server has none to wait for. WAIT cannot target a slot's primary through a Cluster
 * client, so an explicit count is refused there rather than silently ignored.
 */
export function replicaAcksFor(guard: RedisGuard, wanted: number | 'auto'): number {
  const client = guard.client as
    | { isCluster?: boolean; options?: { sentinels?: unknown[] | null } }
    | undefined;
  if (!client) return 0;
  if (client.isCluster) {
    if (wanted !== 'auto' && wanted > 0) {
      throw new ConfigurationError(
        SessionErrorCode.NotReplicated,
        'replicaAcks is not supported on a Redis Cluster client; use min-replicas-to-write on the cluster instead.',
        'replicaAcks',
      );
    }
    return 0;
  }
  if (wanted !== 'auto') return wanted;
  return client.options?.sentinels?.length ? 1 : 0;
}
