import { createHash, randomBytes } from 'node:crypto';
import { SessionArgumentError } from './errors.js';

/**
 * User ids are stored inside Redis hash tags (`{u:<key>}`). Ids made only of these characters (the
 * usual numeric ids, UUIDs, plain e-mail addresses) are used as they are, so keys stay readable;
 * any other id is written as `~` + base64url of its UTF-8 bytes. `~` is in neither alphabet, so
 * the two forms never collide, and neither can contain a brace that would move the key to
 * another Cluster slot.
 */
const PLAIN_USER_ID = /^[A-Za-z0-9_.@:+=-]{1,128}$/;
const ENCODED_MARK = '~';
const ENCODED_USER_ID = /^~[A-Za-z0-9_-]{1,683}$/;
/**
 * Control characters (Cc: no user id has a use for them, and they bloat tokens sixfold as JSON
 * escapes) and unpaired surrogates (Cs: with the `u` flag a pair is one code point, so only lone
 * halves match; UTF-8 cannot hold them, so two such ids would become one key).
 */
const UNSAFE_CHARACTER = /[\p{Cc}\p{Cs}]/u;
/**
 * Longest user id, in UTF-8 bytes. Tokens carry the id twice (`sub` and `sid`); at this size the
 * largest token still fits in a cookie (browsers drop cookies over 4 KiB).
 */
export const MAX_USER_ID_BYTES = 512;
/** 128 random bits, base64url: 22 characters. */
const RANDOM_PART = /^[A-Za-z0-9_-]{22}$/;
const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/;
/**
 * Most roles one user may hold.
 */
export const MAX_ROLES = 64;
/**
 * Largest session metadata, as JSON bytes.
 */
export const MAX_METADATA_BYTES = 2048;
/**
 * True for user ids this package accepts: any string of 1 to MAX_USER_ID_BYTES UTF-8 bytes
 * without control characters or unpaired surrogates (which UTF-8 cannot represent, so two such
 * ids could end up as one key).
 */
export function isUserId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  if (PLAIN_USER_ID.test(value)) return true;
  return (
    value.length <= MAX_USER_ID_BYTES &&
    !UNSAFE_CHARACTER.test(value) &&
    Buffer.byteLength(value) <= MAX_USER_ID_BYTES
  );
}

/**
 * The form of a user id used in Redis keys and session ids: the id itself when it is plain, else
 * `~` + base64url(UTF-8). One-to-one, brace-free and reversible (see userIdOfKey).
 */
export function userKey(userId: string): string {
  return PLAIN_USER_ID.test(userId)
    ? userId
    : ENCODED_MARK + Buffer.from(userId, 'utf8').toString('base64url');
}

/**
 * The user id a key stands for, or undefined when the key is not the canonical form of any
 * accepted id (so every id has exactly one key, and every key at most one id).
 */
export function userIdOfKey(key: string): string | undefined {
  if (PLAIN_USER_ID.test(key)) return key;
  if (!ENCODED_USER_ID.test(key)) return undefined;
  const bytes = Buffer.from(key.slice(1), 'base64url');
  const userId = bytes.toString('utf8');
  // Non-canonical base64url, invalid UTF-8 or an id that has a plain form are not ours.
  if (!isUserId(userId) || PLAIN_USER_ID.test(userId) || userKey(userId) !== key) return undefined;
  return userId;
}

/**
 * Throws SessionArgumentError unless `value` is an acceptable user id.
 */
export function assertUserId(value: unknown): string {
  if (!isUserId(value)) {
    throw new SessionArgumentError(
      'userId',
      `userId must be a string of 1-${MAX_USER_ID_BYTES} UTF-8 bytes without control characters`,
    );
  }
  return value;
}

/**
 * 128 bits from the CSPRNG, base64url.
 */
export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * True for a jti this package could have issued.
 */
export function isTokenId(value: unknown): value is string {
  return isRandomId(value);
}

/**
 * True for 128 random bits in base64url (22 characters), as randomId() makes them.
 */
export function isRandomId(value: unknown): value is string {
  return typeof value === 'string' && RANDOM_PART.test(value);
}

/**
 * The token id is the one secret a session has beyond the signature: Redis keeps only this hash,
 * so a copy of the database (or a session id seen in a listing or a log) cannot be replayed.
 */
export function hashTokenId(jti: string): string {
  return createHash('sha256').update(jti).digest('base64url');
}

/**
 * Short, non-reversible fingerprint that lets logs correlate a rejected token without holding it.
 */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/**
 * Validates and de-duplicates role names, or throws SessionArgumentError.
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
