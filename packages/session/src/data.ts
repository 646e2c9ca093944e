import { OptionError } from '@sec/redis-guard';
import { checkOptions, type OptionRule } from '@sec/redis-guard/internal';
import { InvalidTokenError, SessionArgumentError, SessionDataLimitError } from './errors.js';
import type { SessionRef } from './session-id.js';
import type { SessionStore } from './store.js';

/**
 * Fields one session's data may hold by default: enough for a cart, CSRF state and flash
 * messages, few enough that the size check of a write stays cheap.
 */
export const DEFAULT_SESSION_DATA_MAX_FIELDS = 32;
/**
 * Bytes one field's value (its JSON text, UTF-8) may take by default: 8 KiB.
 */
export const DEFAULT_SESSION_DATA_MAX_VALUE_BYTES = 8 * 1024;
/**
 * Bytes one session's data (field names and values, UTF-8) may take by default: 64 KiB, so a
 * user at maxSessionsPerUser sessions holds a few MiB at most.
 */
export const DEFAULT_SESSION_DATA_MAX_TOTAL_BYTES = 64 * 1024;
/** Highest accepted `maxFields`: it bounds the work of the size check on every write. */
export const MAX_SESSION_DATA_FIELDS_LIMIT = 1_000;
/** Highest accepted `maxTotalBytes`: 1 MiB. */
export const MAX_SESSION_DATA_TOTAL_BYTES_LIMIT = 1024 * 1024;
/** A field name is 1 to 256 bytes of well-formed UTF-8. */
export const MAX_SESSION_DATA_FIELD_BYTES = 256;

/**
 * Bounds of one session's data, checked on every write (the `sessionData` option of
 * createSessionManager()).
 * @example
 * const sessionData: SessionDataOptions = { maxFields: 8, maxTotalBytes: 16_384 };
 * createSessionManager({ redis: guard, signingKeys: [{ kid: '1', secret: process.env.SESSION_SECRET! }], issuer: 'a', audience: 'b', sessionData });
 */
export interface SessionDataOptions {
  /** Fields per session, 1 to 1,000. Default 32. */
  readonly maxFields?: number;
  /** Bytes of one value's JSON text (UTF-8), at most maxTotalBytes. Default 8192. */
  readonly maxValueBytes?: number;
  /** Bytes of all field names and values of one session (UTF-8), at most 1 MiB. Default 65536. */
  readonly maxTotalBytes?: number;
}

/**
 * The bounds after validation.
 */
export interface DataLimits {
  readonly maxFields: number;
  readonly maxValueBytes: number;
  readonly maxTotalBytes: number;
}

function between(min: number, max: number): OptionRule {
  return {
    kind: 'number',
    check: (v) =>
      Number.isInteger(v) && (v as number) >= min && (v as number) <= max
        ? undefined
        : `must be an integer from ${min} to ${max}`,
  };
}

/**
 * Validates the `sessionData` option once, at creation, and applies the defaults.
 */
export function resolveDataLimits(options: SessionDataOptions | undefined): DataLimits {
  checkOptions('createSessionManager({ sessionData })', options, {
    maxFields: between(1, MAX_SESSION_DATA_FIELDS_LIMIT),
    maxValueBytes: between(1, MAX_SESSION_DATA_TOTAL_BYTES_LIMIT),
    maxTotalBytes: between(1, MAX_SESSION_DATA_TOTAL_BYTES_LIMIT),
  });
  const maxTotalBytes = options?.maxTotalBytes ?? DEFAULT_SESSION_DATA_MAX_TOTAL_BYTES;
  const maxValueBytes =
    options?.maxValueBytes ?? Math.min(DEFAULT_SESSION_DATA_MAX_VALUE_BYTES, maxTotalBytes);
  if (maxValueBytes > maxTotalBytes) {
    throw new OptionError(
      'maxValueBytes',
      'createSessionManager({ sessionData }): option "maxValueBytes" must not exceed "maxTotalBytes"',
    );
  }
  return { maxFields: options?.maxFields ?? DEFAULT_SESSION_DATA_MAX_FIELDS, maxValueBytes, maxTotalBytes };
}

/**
 * The data of one session: JSON values under named fields, kept in Redis next to the session and
 * deleted with it (logout, revoke, revoke-all, sign-out-others, eviction, expiry). Each call is
 * one atomic step on one field, so parallel requests writing different fields never lose each
 * other's changes; nothing rewrites the whole record. Every call first checks that the session is
 * still live: a revoked or expired session's data can be neither read nor written
 * (InvalidTokenError, 401). Redis errors reject with RedisUnavailableError (503 + Retry-After).
 * @example
 * app.put('/cart/:sku', sessions.authenticate(), async (req, res) => {
 *   const data = sessions.data(req.auth!.sessionId);
 *   await data.set(`cart:${req.params.sku}`, { qty: 1 }); // one field per line: parallel adds never collide
 *   res.json(await data.getAll());
 * });
 */
export interface SessionData {
  /** The field's value, or undefined when it is not set. */
  get<T = unknown>(field: string): Promise<T | undefined>;
  /** Every field and its value, as a plain object. */
  getAll(): Promise<Record<string, unknown>>;
  /**
   * Sets one field to a JSON-serialisable value. Rejects with SessionDataLimitError (413) past a
   * bound, SessionArgumentError (400) for a bad field name or a value JSON cannot represent.
   */
  set(field: string, value: unknown): Promise<void>;
  /** Removes one field; true when it was set. */
  delete(field: string): Promise<boolean>;
  /** Removes every field; the session itself stays. */
  clear(): Promise<void>;
}

/** In a `u` regular expression a surrogate pair is one code point, so this matches only lone halves. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Throws SessionArgumentError unless the name is 1 to 256 bytes of well-formed Unicode (a lone
 * surrogate would be stored as U+FFFD, so two names could land on one field).
 */
function assertField(field: unknown): string {
  if (
    typeof field !== 'string' ||
    field.length === 0 ||
    LONE_SURROGATE.test(field) ||
    Buffer.byteLength(field) > MAX_SESSION_DATA_FIELD_BYTES
  ) {
    throw new SessionArgumentError(
      'field',
      `a session data field name must be a string of 1 to ${MAX_SESSION_DATA_FIELD_BYTES} bytes of well-formed Unicode`,
    );
  }
  return field;
}

/** The value's JSON text; SessionArgumentError for what JSON cannot hold (undefined, functions, BigInt, cycles). */
function encodeValue(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (typeof text !== 'string') {
    throw new SessionArgumentError(
      'value',
      'a session data value must be JSON-serialisable (use delete() to remove a field)',
    );
  }
  return text;
}

/** A stored value; undefined when it is not JSON (not written by us). */
function decodeValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function gone(): never {
  throw new InvalidTokenError('unknown_session');
}

/**
 * The SessionData of one session. The arguments are checked before Redis is touched; the store
 * checks liveness and the field and total bounds in the same atomic step as the write.
 */
export function sessionData(
  store: SessionStore,
  ref: SessionRef,
  limits: DataLimits,
  now: () => number,
): SessionData {
  return {
    async get<T>(field: string) {
      const read = await store.readData(ref, now(), assertField(field));
      if (!read) return gone();
      const text = read[0]?.[1];
      return text === undefined ? undefined : (decodeValue(text) as T | undefined);
    },

    async getAll() {
      const read = await store.readData(ref, now(), undefined);
      if (!read) return gone();
      // fromEntries defines own properties: a `__proto__` field is data, never the prototype.
      return Object.fromEntries(read.map(([field, text]) => [field, decodeValue(text)]));
    },

    async set(field, value) {
      const name = assertField(field);
      const text = encodeValue(value);
      if (Buffer.byteLength(text) > limits.maxValueBytes)
        throw new SessionDataLimitError('valueBytes', limits.maxValueBytes);
      const outcome = await store.writeData(ref, now(), name, text, limits);
      if (outcome === 'gone') return gone();
      if (outcome === 'fields') throw new SessionDataLimitError('fields', limits.maxFields);
      if (outcome === 'totalBytes') throw new SessionDataLimitError('totalBytes', limits.maxTotalBytes);
    },

    async delete(field) {
      const deleted = await store.deleteData(ref, now(), assertField(field));
      return deleted ?? gone();
    },

    async clear() {
      if ((await store.deleteData(ref, now(), undefined)) === undefined) gone();
    },
  };
}
