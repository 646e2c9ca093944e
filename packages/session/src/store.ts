import type { SessionInfo } from './auth-context.js';
import type { SessionEvent, SessionEventListener } from './events.js';
import { decodeMetadata, userKey } from './ids.js';

/**
 * One session as stored: timestamps in ms since the epoch.
 */
export interface StoredSession {
  /** Random part of the session id; the user part is the store key. */
  readonly handle: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  /** Absolute expiry: the session ends then, however active. */
  readonly expiresAt: number;
  /** Idle timeout in force when the session was created; kept per session so a config change never shortens live ones. */
  readonly idleMs: number;
  /** SHA-256 of the token's `jti`, never the token itself. */
  readonly tokenHash: string;
  /** Last time the user proved who they are (login or re-authentication); drives step-up checks. */
  readonly authAt: number;
  /** JSON text, '' for none. */
  readonly metadata: string;
}

/**
 * What `check` needs to validate (and maybe touch) a session on a request.
 */
export interface SessionCheck {
  /** Compare with the stored hash; undefined to skip (manager.touch). */
  readonly tokenHash: string | undefined;
  readonly now: number;
  /** Write `lastSeenAt` only when it is at least this old: bounded writes per session. */
  readonly touchAfterMs: number;
  readonly withRoles: boolean;
}

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
 * What `check` returns for a live session.
 */
export interface CheckResult {
  readonly roles: readonly string[];
  readonly authAt: number;
}

/**
 * One session to look up in a batch.
 */
export interface SessionRef {
  readonly userId: string;
  readonly handle: string;
}

/**
 * Where sessions live. Every method is atomic for one user; `check` never resurrects a session
 * that `revoke` / `revokeAll` deleted (it only writes to a record it has just read, in the same
 * atomic step). Implemented by RedisSessionStore and, for development, MemorySessionStore.
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
  /** The user's roles and last authentication when the session is live (and the hash matches), undefined otherwise. */
  check(userId: string, handle: string, check: SessionCheck): Promise<CheckResult | undefined>;
  read(
    userId: string,
    handle: string,
    now: number,
  ): Promise<{ session: StoredSession; roles: readonly string[] } | undefined>;
  list(userId: string, now: number): Promise<{ sessions: StoredSession[]; roles: readonly string[] }>;
  /** Sets the session's last authentication to `now`; false when the session is not live. */
  reauthenticate(userId: string, handle: string, now: number): Promise<boolean>;
  /** For each ref, whether its session is live: the batched re-check behind live connections. */
  probe(refs: readonly SessionRef[], now: number): Promise<boolean[]>;
  /** True when a live session was removed; the event is published only then. */
  revoke(userId: string, handle: string, now: number, event: SessionEvent): Promise<boolean>;
  /** Number of live sessions removed, in one atomic step; the event is published (with that count) when > 0. */
  revokeAll(userId: string, now: number, event: SessionEvent & { type: 'revoke_all' }): Promise<number>;
  /** Like revokeAll, sparing one session; the event is published (with the count) when > 0. */
  revokeOthers(
    userId: string,
    keep: string,
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
  publish(event: SessionEvent): Promise<void>;
  subscribe(listener: SessionEventListener): () => void;
  close(): Promise<void>;
}

/**
 * True while neither the idle nor the absolute timeout has passed.
 */
export function isLive(
  session: Pick<StoredSession, 'lastSeenAt' | 'expiresAt' | 'idleMs'>,
  now: number,
): boolean {
  return now < session.expiresAt && now < session.lastSeenAt + session.idleMs;
}

/**
 * When the session ends if nothing touches it again.
 */
export function deadlineOf(session: Pick<StoredSession, 'lastSeenAt' | 'expiresAt' | 'idleMs'>): number {
  return Math.min(session.lastSeenAt + session.idleMs, session.expiresAt);
}

/**
 * Roles as stored: comma-separated (role names cannot contain commas).
 */
export function encodeRoles(roles: readonly string[]): string {
  return roles.join(',');
}

/**
 * Parses stored roles; a missing value means none.
 */
export function decodeRoles(text: string | null | undefined): readonly string[] {
  return text ? text.split(',') : [];
}

/**
 * `lastSeen|expires|idle|created|tokenHash|authAt|metadata` — the Lua scripts read the leading
 * numbers with one pattern match and rewrite only `lastSeen` on a touch; metadata goes last so it
 * may contain `|`. Records written before `authAt` existed lack that field; their metadata is ''
 * or starts with `{`, never with a digit, so the two layouts cannot be confused.
 */
export function encodeRecord(s: StoredSession): string {
  return `${s.lastSeenAt}|${s.expiresAt}|${s.idleMs}|${s.createdAt}|${s.tokenHash}|${s.authAt}|${s.metadata}`;
}

const RECORD = /^(\d+)\|(\d+)\|(\d+)\|(\d+)\|([^|]*)\|(?:(\d+)\|)?/;

/**
 * Parses a stored record; undefined when it is not one.
 */
export function decodeRecord(handle: string, text: string): StoredSession | undefined {
  const match = RECORD.exec(text);
  if (!match) return undefined;
  const createdAt = Number(match[4]);
  return {
    handle,
    lastSeenAt: Number(match[1]),
    expiresAt: Number(match[2]),
    idleMs: Number(match[3]),
    createdAt,
    tokenHash: match[5]!,
    authAt: match[6] === undefined ? createdAt : Number(match[6]),
    metadata: text.slice(match[0].length),
  };
}

/**
 * The public description of a stored session.
 */
export function sessionInfo(userId: string, session: StoredSession, roles: readonly string[]): SessionInfo {
  return {
    sessionId: `${userKey(userId)}.${session.handle}`,
    userId,
    roles,
    createdAt: new Date(session.createdAt),
    authenticatedAt: new Date(session.authAt),
    lastSeenAt: new Date(session.lastSeenAt),
    expiresAt: new Date(session.expiresAt),
    idleExpiresAt: new Date(deadlineOf(session)),
    metadata: decodeMetadata(session.metadata),
  };
}
