import { SessionArgumentError } from './errors.js';
import { isRandomId, randomId, userIdOfKey, userKey } from './ids.js';

/**
 * The session-id format, built and read only here: `<user key>.<handle>`, where the user key is
 * the user id's key form (see userKey) and the handle 128 random bits in base64url. The id names
 * its user, so any worker finds the record from the id alone; the handle is the field of the
 * record in the user's session hash. The create script builds the ids of the sessions it evicts
 * by appending handles to sessionIdPrefix(userId).
 */

/** The encoded form of a MAX_USER_ID_BYTES id is 684 characters; a handle is 22. */
const MAX_SESSION_ID_LENGTH = 684 + 1 + 22;

/**
 * A session id split into its user and its handle.
 * @example const owner = parseSessionId(req.params.sessionId)?.userId;
 */
export interface ParsedSessionId {
  readonly userId: string;
  /** The random part: the field of the record in the user's session hash. */
  readonly handle: string;
}

/**
 * A session of one user: its id, and the two parts the store addresses it by.
 */
export interface SessionRef extends ParsedSessionId {
  readonly sessionId: string;
}

/**
 * What every session id of the user starts with: `<user key>.`.
 */
export function sessionIdPrefix(userId: string): string {
  return `${userKey(userId)}.`;
}

/**
 * The id of the user's session with this handle.
 */
export function formatSessionId(userId: string, handle: string): string {
  return sessionIdPrefix(userId) + handle;
}

/**
 * A new session of the user, with a fresh handle.
 */
export function newSession(userId: string): SessionRef {
  const handle = randomId();
  return { userId, handle, sessionId: formatSessionId(userId, handle) };
}

/**
 * Splits a session id into user and handle, or undefined when it is not one of ours.
 * @example parseSessionId('42.AAAAAAAAAAAAAAAAAAAAAA') // { userId: '42', handle: 'AAAA…' }
 */
export function parseSessionId(value: unknown): ParsedSessionId | undefined {
  if (typeof value !== 'string' || value.length > MAX_SESSION_ID_LENGTH) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot < 1) return undefined;
  const handle = value.slice(dot + 1);
  if (!isRandomId(handle)) return undefined;
  const userId = userIdOfKey(value.slice(0, dot));
  return userId === undefined ? undefined : { userId, handle };
}

/**
 * Parses a session id or throws SessionArgumentError.
 */
export function assertSessionId(value: unknown): SessionRef {
  const parsed = parseSessionId(value);
  if (!parsed)
    throw new SessionArgumentError(
      'sessionId',
      'sessionId is not a session id issued by createSessionManager()',
    );
  return { ...parsed, sessionId: value as string };
}
