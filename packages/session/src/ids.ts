import { createHash, randomBytes } from 'node:crypto';
import { SessionArgumentError } from './errors.js';

/**
 * User ids end up inside Redis hash tags (`{u:<id>}`): braces would move the key to another
 * cluster slot, and whitespace or control characters have no business in a key.
 */
const USER_ID = /^[A-Za-z0-9_.@:+=-]{1,128}$/;
/** 128 random bits, base64url: 22 characters. */
const RANDOM_PART = /^[A-Za-z0-9_-]{22}$/;
const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/;
/**
 * Most roles one user may hold.
 * @example assertRoles(roles.slice(0, MAX_ROLES));
 */
export const MAX_ROLES = 64;
/**
 * Largest session metadata, as JSON bytes.
 * @example if (JSON.stringify(meta).length > MAX_METADATA_BYTES) meta = {};
 */
export const MAX_METADATA_BYTES = 2048;
/** Longest `<userId>.<22 random chars>`. */
const MAX_SESSION_ID_LENGTH = 128 + 1 + 22;

/**
 * A session id names its user, so any worker can find the record from the id alone.
 * @example const { userId, handle } = parseSessionId(id)!;
 */
export interface ParsedSessionId {
  readonly userId: string;
  /** The random part: the field of the record in the user's session hash. */
  readonly handle: string;
}

/**
 * True for user ids this package accepts.
 * @example isUserId('42') // true; isUserId('a{b}') // false
 */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && USER_ID.test(value);
}

/**
 * Throws SessionArgumentError unless `value` is an acceptable user id.
 * @example assertUserId(req.params.userId);
 */
export function assertUserId(value: unknown): string {
  if (!isUserId(value)) {
    throw new SessionArgumentError(
      'userId',
      'userId must be 1-128 characters of A-Z a-z 0-9 _ . @ : + = - (no braces or whitespace: it becomes a Redis hash tag)',
    );
  }
  return value;
}

/**
 * 128 bits from the CSPRNG, base64url.
 * @example const jti = randomId(); // 22 characters
 */
export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * A fresh session id for the user: `<userId>.<128 random bits>`.
 * @example newSessionId('42') // '42.Yx3…'
 */
export function newSessionId(userId: string): string {
  return `${userId}.${randomId()}`;
}

/**
 * Splits a session id into user and handle, or undefined when it is not one of ours.
 * @example parseSessionId('42.AAAAAAAAAAAAAAAAAAAAAA') // { userId: '42', handle: 'AAAA…' }
 */
export function parseSessionId(value: unknown): ParsedSessionId | undefined {
  if (typeof value !== 'string' || value.length > MAX_SESSION_ID_LENGTH) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot < 1) return undefined;
  const userId = value.slice(0, dot);
  const handle = value.slice(dot + 1);
  return USER_ID.test(userId) && RANDOM_PART.test(handle) ? { userId, handle } : undefined;
}

/**
 * Parses a session id or throws SessionArgumentError.
 * @example const { userId, handle } = assertSessionId(sessionId);
 */
export function assertSessionId(value: unknown): ParsedSessionId {
  const parsed = parseSessionId(value);
  if (!parsed)
    throw new SessionArgumentError(
      'sessionId',
      'sessionId is not a session id issued by createSessionManager()',
    );
  return parsed;
}

/**
 * True for a jti this package could have issued.
 * @example if (!isTokenId(payload.jti)) throw new InvalidTokenError('claims');
 */
export function isTokenId(value: unknown): value is string {
  return typeof value === 'string' && RANDOM_PART.test(value);
}

/**
 * The token id is the one secret a session has beyond the signature: Redis keeps only this hash,
 * so a copy of the database (or a session id seen in a listing or a log) cannot be replayed.
 * @example const stored = hashTokenId(jti); // what the session record holds
 */
export function hashTokenId(jti: string): string {
  return createHash('sha256').update(jti).digest('base64url');
}

/**
 * Short, non-reversible fingerprint that lets logs correlate a rejected token without holding it.
 * @example logger.warn({ token: fingerprint(token) }, 'rejected');
 */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/**
 * Validates and de-duplicates role names, or throws SessionArgumentError.
 * @example assertRoles(['admin', 'admin']) // ['admin']
 */
export function assertRoles(value: unknown): readonly string[] {
  if (
    !Array.isArray(value) ||
    value.length > MAX_ROLES ||
    !value.every((r) => typeof r === 'string' && ROLE.test(r))
  ) {
    throw new SessionArgumentError(
      'roles',
      `roles must be an array of at most ${MAX_ROLES} names of 1-64 characters A-Z a-z 0-9 _ . : -`,
    );
  }
  return [...new Set(value as string[])];
}

/**
 * Metadata travels as JSON inside the session record; keep it small and plain.
 * @example encodeMetadata({ userAgent: req.get('user-agent') })
 */
export function encodeMetadata(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SessionArgumentError('metadata', 'metadata must be a plain object');
  }
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    throw new SessionArgumentError('metadata', 'metadata must be JSON-serialisable');
  }
  if (Buffer.byteLength(json) > MAX_METADATA_BYTES) {
    throw new SessionArgumentError(
      'metadata',
      `metadata must serialise to at most ${MAX_METADATA_BYTES} bytes of JSON`,
    );
  }
  return json === '{}' ? '' : json;
}

/**
 * Parses stored metadata; anything unreadable becomes `{}`.
 * @example decodeMetadata('{"a":1}') // { a: 1 }
 */
export function decodeMetadata(json: string): Record<string, unknown> {
  if (json === '') return {};
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
