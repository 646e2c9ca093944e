import type { RedisWork } from '@sec/redis-guard/internal';
import type { DataLimits } from './data.js';
import type { SessionEvent, SessionEventListener } from './events.js';
import type { StoredSession } from './record.js';
import type { ParsedSessionId } from './session-id.js';

/**
 * What happens when a user who already has `maxSessionsPerUser` live sessions logs in again.
 */
export type SessionLimitPolicy = 'revoke-least-recent' | 'refuse';

/**
 * The cap applied by `create`: it keeps a user's hash at most `max` records long, so every script
 * that reads the hash does bounded work.
 */
export interface SessionLimit {
  readonly max: number;
  readonly policy: SessionLimitPolicy;
}

/**
 * The audit events `create` publishes: the login, and one revoke per session the cap evicts
 * (`evicted.sessionId` is the `<user key>.` prefix; the store appends each evicted handle).
 */
export interface CreateEvents {
  readonly login: SessionEvent;
  readonly evicted: SessionEvent & { readonly type: 'revoke' };
}

/**
 * What `create` did: `created` is false only under the 'refuse' policy at the cap.
 */
export interface CreateResult {
  readonly created: boolean;
  /** Handles of the sessions revoked to make room. */
  readonly evicted: readonly string[];
}

/**
 * What lookup() found, as stored: nothing is judged yet (the record may have expired, or belong to
 * another token).
 */
export interface SessionLookup {
  /** The user's hash has a field for this handle. */
  readonly exists: boolean;
  /** The record; undefined when there is none, or the field does not hold one. */
  readonly session: StoredSession | undefined;
  readonly roles: readonly string[];
}

/**
 * What writeData() did: 'ok', or why nothing was written ('gone': the session is not live).
 */
export type DataWrite = 'ok' | 'gone' | 'fields' | 'totalBytes';

/**
 * Where sessions live. Reads never write, and every write says what it does. Every method is
 * atomic for one user; no write ever brings back a record that `revoke` / `revokeAll` deleted
 * (writes to an existing record happen in the same atomic step that reads it). Deciding whether a
 * session is live, matches a token or is due a touch is the request path's job (request-path.ts),
 * not the store's. Implemented by RedisSessionStore and, for development, MemorySessionStore.
 */
export interface SessionStore {
  create(
    userId: string,
    session: StoredSession,
    roles: readonly string[] | undefined,
    retentionMs: number,
    limit: SessionLimit,
    events: CreateEvents,
  ): Promise<CreateResult>;
  /** The session's record and the user's roles, as stored. Reads only. */
  lookup(ref: ParsedSessionId): Promise<SessionLookup>;
  /** lookup() as work that may share one pipelined write with other checks; absent in memory. */
  lookupWork?(ref: ParsedSessionId): RedisWork<SessionLookup>;
  /** The records of several sessions (no roles), in one batch: the re-check behind live connections. Reads only. */
  lookupRecords(refs: readonly ParsedSessionId[]): Promise<(StoredSession | undefined)[]>;
  /**
   * Slides the session's `lastSeenAt` to `now` (never backwards) and the expiry of the user's hash
   * with it, if the record is still there and live; false otherwise. Never creates a record.
   */
  touch(ref: ParsedSessionId, now: number): Promise<boolean>;
  /** Deletes the record if it has expired by `now` (or is not a record); a live one is left alone. */
  dropExpired(ref: ParsedSessionId, now: number): Promise<void>;
  list(userId: string, now: number): Promise<{ sessions: StoredSession[]; roles: readonly string[] }>;
  /** Sets the session's last authentication to `now`; false when the session is not live. */
  reauthenticate(ref: ParsedSessionId, now: number): Promise<boolean>;
  /** True when a live session was removed; the event is published only then. */
  revoke(ref: ParsedSessionId, now: number, event: SessionEvent): Promise<boolean>;
  /** Number of live sessions removed, in one atomic step; the event is published (with that count) when > 0. */
  revokeAll(userId: string, now: number, event: SessionEvent & { type: 'revoke_all' }): Promise<number>;
  /** Like revokeAll, sparing one session; the event is published (with the count) when > 0. */
  revokeOthers(
    keep: ParsedSessionId,
    now: number,
    event: SessionEvent & { type: 'revoke_others' },
  ): Promise<number>;
  setRoles(
    userId: string,
    roles: readonly string[],
    now: number,
    retentionMs: number,
    event: SessionEvent,
  ): Promise<void>;
  /**
   * The session's data fields as stored ([field, JSON text] pairs): one field, or all of them when
   * `field` is undefined; undefined when the session is not live. Reads only.
   */
  readData(
    ref: ParsedSessionId,
    now: number,
    field: string | undefined,
  ): Promise<[string, string][] | undefined>;
  /**
   * Sets one field of a live session's data, in the step that checks liveness and the field and
   * total bounds; the data expires with the session.
   */
  writeData(
    ref: ParsedSessionId,
    now: number,
    field: string,
    value: string,
    limits: DataLimits,
  ): Promise<DataWrite>;
  /** Removes one field (all when undefined); whether one was removed, undefined when the session is not live. */
  deleteData(ref: ParsedSessionId, now: number, field: string | undefined): Promise<boolean | undefined>;
  publish(event: SessionEvent): Promise<void>;
  subscribe(listener: SessionEventListener): () => void;
  close(): Promise<void>;
}
