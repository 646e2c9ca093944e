import type { SessionInfo } from './auth-context.js';
import { decodeMetadata } from './ids.js';
import { formatSessionId } from './session-id.js';

/**
 * The session record: one field of the user's session hash, written and read by the TypeScript
 * below and by the Lua scripts (RECORD_LUA). This module is the only place that knows its layout:
 *
 *   `lastSeen|expires|idle|created|tokenHash|authAt|metadata`
 *
 * Timestamps are ms since the epoch, `idle` the idle timeout in ms in force when the session was
 * created, `tokenHash` the SHA-256 of the token's `jti`. Metadata goes last so it may contain `|`.
 * Records written before `authAt` existed lack that field; their metadata is '' or starts with
 * `{`, never with a digit, so the two layouts cannot be confused (such a record was authenticated
 * at its creation).
 */

/**
 * One session as stored: timestamps in ms since the epoch.
 */
export interface StoredSession {
  /** Random part of the session id; the field of the record in the user's hash. */
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
 * The record as stored in the hash.
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
 * Roles as stored in the user hash's `roles` field: comma-separated (role names cannot contain commas).
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
 * The public description of a stored session.
 */
export function sessionInfo(userId: string, session: StoredSession, roles: readonly string[]): SessionInfo {
  return {
    sessionId: formatSessionId(userId, session.handle),
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

/**
 * The same layout for the scripts. Fields stay strings (Lua numbers handed to redis.call may be
 * formatted in exponent notation), so a record is rebuilt from exactly the text it was read from;
 * `live` converts only to compare. A legacy record is rewritten in the current layout whenever a
 * script writes it.
 * - `decode(v)`: a table {seen, abs, idle, created, hash, auth, meta}, or nil for anything else;
 * - `encode(r)`: the text of such a table;
 * - `live(r, now)`: neither timeout has passed (`now` a number).
 */
export const RECORD_LUA = `
local function decode(v)
  local seen, abs, idle, created, hash, rest = string.match(v, '^(%d+)|(%d+)|(%d+)|(%d+)|([^|]*)|(.*)$')
  if not seen then return nil end
  local auth, meta = string.match(rest, '^(%d+)|(.*)$')
  if not auth then auth, meta = created, rest end
  return {seen = seen, abs = abs, idle = idle, created = created, hash = hash, auth = auth, meta = meta}
end
local function encode(r)
  return r.seen .. '|' .. r.abs .. '|' .. r.idle .. '|' .. r.created .. '|' .. r.hash .. '|' .. r.auth .. '|' .. r.meta
end
local function live(r, now)
  return now < tonumber(r.abs) and now < tonumber(r.seen) + tonumber(r.idle)
end
`;
