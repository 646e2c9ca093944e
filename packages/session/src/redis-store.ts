import type { RedisClient, RedisGuard } from '@sec/redis-guard';
import { type RedisWork, scrubError } from '@sec/redis-guard/internal';
import type { Cluster, Redis } from 'ioredis';
import type { DataLimits } from './data.js';
import { Durability } from './durability.js';
import { dispatch, parseEvent, type SessionEvent, type SessionEventListener } from './events.js';
import { userKey } from './ids.js';
import { runQuery, SCRIPTS, type ScriptQuery } from './lua.js';
import {
  deadlineOf,
  decodeRecord,
  decodeRoles,
  encodeRecord,
  encodeRoles,
  type StoredSession,
} from './record.js';
import type { ParsedSessionId } from './session-id.js';
import type {
  CreateEvents,
  CreateResult,
  DataWrite,
  SessionLimit,
  SessionLookup,
  SessionStore,
} from './store.js';

/**
 * The two key families, each followed by a user's hash tag: the sessions hash and the user hash.
 */
export function keyFamilies(keyPrefix: string): readonly [sessions: string, user: string] {
  return [`${keyPrefix}sess:`, `${keyPrefix}user:`];
}

/**
 * Commands the store sends itself; its scripts' own calls are read from their source.
 * Durability adds WAIT, and the subscriber connection SUBSCRIBE.
 */
export const STORE_COMMANDS = ['evalsha', 'eval', 'hget', 'hmget', 'publish', 'subscribe', 'wait'];

/** The lookup script as an ioredis command, so that it can join a pipeline. */
const LOOKUP_COMMAND = 'secSessionLookup';
type LookupCommand = Record<typeof LOOKUP_COMMAND, (...keysAndArgs: (string | number)[]) => unknown>;

/**
 * Key prefix and event channel of a RedisSessionStore.
 */
export interface RedisStoreSettings {
  /** Prefix of every key, e.g. 'sec:'. */
  readonly keyPrefix: string;
  /** Pub/Sub channel for audit events; '' to publish nothing. */
  readonly channel: string;
  /** Replicas that must acknowledge revocations and role changes (WAIT); 0 to not wait. */
  readonly replicaAcks: number | 'auto';
  readonly replicaWaitMs: number;
}

/**
 * Sessions in Redis. One user's data shares the hash tag `{u:<user key>}` (see userKey), so it
 * sits in one Cluster slot and every script below touches a single slot:
 * - `<prefix>sess:{u:<key>}` — hash, one field per session (handle → record), expiring with the
 *   user's last session, never longer than maxSessionsPerUser;
 * - `<prefix>sess:{u:<key>}:data:<handle>` — hash, one session's data fields (JSON values),
 *   expiring with that session and removed by every script that removes its record;
 * - `<prefix>user:{u:<key>}` — hash with the user's `roles`, read with the session on each request.
 * Every call goes through `guard.execute`, so an outage fails fast through the breaker.
 */
export class RedisSessionStore implements SessionStore {
  readonly #guard: RedisGuard;
  readonly #settings: RedisStoreSettings;
  readonly #listeners = new Set<SessionEventListener>();
  readonly #durability: Durability;
  #subscriber: RedisClient | undefined;

  constructor(guard: RedisGuard, settings: RedisStoreSettings) {
    this.#guard = guard;
    this.#settings = settings;
    this.#durability = new Durability(guard, settings.replicaAcks, settings.replicaWaitMs);
    guard.client?.defineCommand(LOOKUP_COMMAND, { numberOfKeys: 2, lua: SCRIPTS.lookup.source });
  }

  #keys(userId: string): [sessions: string, user: string] {
    const tag = `{u:${userKey(userId)}}`;
    const [sessions, user] = keyFamilies(this.#settings.keyPrefix);
    return [`${sessions}${tag}`, `${user}${tag}`];
  }

  async create(
    userId: string,
    session: StoredSession,
    roles: readonly string[] | undefined,
    retentionMs: number,
    limit: SessionLimit,
    events: CreateEvents,
  ): Promise<CreateResult> {
    const keys = this.#keys(userId);
    const ttl = deadlineOf(session) - session.lastSeenAt;
    const [created, evicted] = (await this.#guard.execute((c) =>
      SCRIPTS.create.run(c, keys, [
        session.handle,
        encodeRecord(session),
        ttl,
        roles ? '1' : '0',
        roles ? encodeRoles(roles) : '',
        retentionMs,
        this.#settings.channel,
        JSON.stringify(events.login),
        session.createdAt,
        limit.max,
        limit.policy,
        JSON.stringify(events.evicted),
      ]),
    )) as [number, string[]];
    return { created: created === 1, evicted: evicted ?? [] };
  }

  /**
   * The Redis work of lookup() as data: the read-only LOOKUP script on the user's slot (the record
   * and the roles), which a caller may pipeline with other commands.
   */
  lookupQuery(ref: ParsedSessionId): ScriptQuery<SessionLookup> {
    return {
      script: SCRIPTS.lookup,
      keys: this.#keys(ref.userId),
      args: [ref.handle],
      decode: (reply) => {
        const [record, roles] = reply as [string | null, string | null];
        return {
          exists: typeof record === 'string',
          session: typeof record === 'string' ? decodeRecord(ref.handle, record) : undefined,
          roles: decodeRoles(roles),
        };
      },
    };
  }

  lookup(ref: ParsedSessionId): Promise<SessionLookup> {
    const query = this.lookupQuery(ref);
    return this.#guard.execute((c) => runQuery(c, query));
  }

  /**
   * lookup() as work for a shared pipeline (runPipelined): the same script, as a command ioredis
   * sends by EVALSHA (EVAL the first time on a connection, and again after a NOSCRIPT).
   */
  lookupWork(ref: ParsedSessionId): RedisWork<SessionLookup> {
    const query = this.lookupQuery(ref);
    return {
      slotKey: query.keys[0]!,
      send: (target) => [(target as unknown as LookupCommand)[LOOKUP_COMMAND](...query.keys, ...query.args)],
      read: ([reply]) => query.decode(reply),
    };
  }

  async touch(ref: ParsedSessionId, now: number) {
    const [sessions] = this.#keys(ref.userId);
    const done = await this.#guard.execute((c) => SCRIPTS.touch.run(c, [sessions], [ref.handle, now]));
    return done === 1;
  }

  async dropExpired(ref: ParsedSessionId, now: number) {
    const [sessions] = this.#keys(ref.userId);
    await this.#guard.execute((c) => SCRIPTS.dropExpired.run(c, [sessions], [ref.handle, now]));
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

  async reauthenticate(ref: ParsedSessionId, now: number) {
    const [sessions] = this.#keys(ref.userId);
    const done = await this.#guard.execute((c) =>
      SCRIPTS.reauthenticate.run(c, [sessions], [ref.handle, now]),
    );
    return done === 1;
  }

  /** One HMGET per user, all sent at once (ioredis pipelines them on a standalone or Sentinel connection). */
  async lookupRecords(refs: readonly ParsedSessionId[]) {
    const found: (StoredSession | undefined)[] = refs.map(() => undefined);
    const byUser = new Map<string, { handles: string[]; indexes: number[] }>();
    refs.forEach((ref, index) => {
      const group = byUser.get(ref.userId) ?? { handles: [], indexes: [] };
      group.handles.push(ref.handle);
      group.indexes.push(index);
      byUser.set(ref.userId, group);
    });
    await Promise.all(
      [...byUser].map(async ([userId, group]) => {
        const [sessions] = this.#keys(userId);
        const records = await this.#guard.execute((c) => c.hmget(sessions, ...group.handles));
        records.forEach((record, i) => {
          found[group.indexes[i]!] = record === null ? undefined : decodeRecord(group.handles[i]!, record);
        });
      }),
    );
    return found;
  }

  async revoke(ref: ParsedSessionId, now: number, event: SessionEvent) {
    const [sessions] = this.#keys(ref.userId);
    const removed = await this.#durability.run(
      SCRIPTS.revoke,
      [sessions],
      [ref.handle, now, this.#settings.channel, JSON.stringify(event)],
    );
    return removed === 1;
  }

  async revokeAll(userId: string, now: number, event: SessionEvent) {
    const [sessions] = this.#keys(userId);
    const count = await this.#durability.run(
      SCRIPTS.revokeAll,
      [sessions],
      [now, this.#settings.channel, JSON.stringify(event)],
    );
    return Number(count);
  }

  async revokeOthers(keep: ParsedSessionId, now: number, event: SessionEvent) {
    const [sessions] = this.#keys(keep.userId);
    const count = await this.#durability.run(
      SCRIPTS.revokeOthers,
      [sessions],
      [keep.handle, now, this.#settings.channel, JSON.stringify(event)],
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
    await this.#durability.run(
      SCRIPTS.setRoles,
      [user],
      [encodeRoles(roles), retentionMs, this.#settings.channel, JSON.stringify(event)],
    );
  }

  async readData(ref: ParsedSessionId, now: number, field: string | undefined) {
    const [sessions] = this.#keys(ref.userId);
    const [live, flat] = (await this.#guard.execute((c) =>
      SCRIPTS.dataRead.run(c, [sessions], [ref.handle, now, field ?? '']),
    )) as [number, string[] | undefined];
    if (live !== 1) return undefined;
    const entries: [string, string][] = [];
    for (let i = 0; flat && i + 1 < flat.length; i += 2) entries.push([flat[i]!, flat[i + 1]!]);
    return entries;
  }

  async writeData(ref: ParsedSessionId, now: number, field: string, value: string, limits: DataLimits) {
    const [sessions] = this.#keys(ref.userId);
    return (await this.#guard.execute((c) =>
      SCRIPTS.dataWrite.run(
        c,
        [sessions],
        [ref.handle, now, field, value, limits.maxFields, limits.maxTotalBytes],
      ),
    )) as DataWrite;
  }

  async deleteData(ref: ParsedSessionId, now: number, field: string | undefined) {
    const [sessions] = this.#keys(ref.userId);
    const removed = Number(
      await this.#guard.execute((c) => SCRIPTS.dataDelete.run(c, [sessions], [ref.handle, now, field ?? ''])),
    );
    return removed < 0 ? undefined : removed > 0;
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
    this.#durability.close();
  }
}
