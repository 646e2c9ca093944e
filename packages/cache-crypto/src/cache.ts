import { createHash } from 'node:crypto';
import {
  type Logger,
  OptionError,
  type RedisClient,
  type RedisGuard,
  RedisGuardErrorCode,
  RedisUnavailableError,
  type SecErrorCode,
} from '@sec/redis-guard';
import {
  checkOptions,
  maskingLogger,
  positiveInteger,
  scrubError,
  toGuard,
  withSpan,
} from '@sec/redis-guard/internal';
import { resolveKeys } from './encryption-keys.js';
import { openEntry, type RefusalReason, sealEntry } from './envelope.js';
import { Keyring } from './fernet.js';
import { type RotationOptions, type RotationResult, rotateEntries } from './rotate.js';
import { memoryStore, redisStore } from './store.js';

/**
 * Entry lifetime when `set` and `wrap` are given none: five minutes.
 */
export const DEFAULT_TTL_MS = 300_000;
/**
 * Longest accepted cache key, in characters.
 */
export const MAX_KEY_LENGTH = 1024;
export const NAMESPACE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Where every entry's key starts, under the guard's key prefix: `sec:cache:` by default. */
export function cachePrefix(keyPrefix: string): string {
  return `${keyPrefix}cache:`;
}
/** Distinct tampered keys remembered so each is logged once. */
const REPORTED_LIMIT = 1000;
/** Redis answered but refused the call: not an outage, so reads go on while writes are skipped. */
const REFUSALS: ReadonlySet<SecErrorCode> = new Set([
  RedisGuardErrorCode.WriteRefused,
  RedisGuardErrorCode.PermissionDenied,
]);

/**
 * Options of createEncryptedCache, validated once at creation.
 * @example const options: EncryptedCacheOptions = { redis: guard, namespace: 'profiles', defaultTtlMs: 600_000 };
 */
export interface EncryptedCacheOptions {
  /** A RedisGuard, a bare ioredis client, or nothing (a guard built from `env`). */
  readonly redis?: RedisGuard | RedisClient;
  /** Fernet keys, newest first: the first encrypts, all decrypt. Default: REDIS_ENCRYPTION_KEY. */
  readonly keys?: string | readonly string[];
  /** Letters, digits, `_`, `.`, `-`; entries live under `<keyPrefix>cache:<namespace>:` (the guard's keyPrefix, default 'sec:'). */
  readonly namespace: string;
  /** Lifetime of entries written without a `ttlMs`; default 300000 (5 min). Every entry expires: cached PII never lives for ever. */
  readonly defaultTtlMs?: number;
  /** Deflate values whose JSON is at least this many bytes before encrypting. Default: never (see README). */
  readonly compressAbove?: number;
  readonly logger?: Logger;
  /** Where REDIS_ENCRYPTION_KEY (and Redis settings, without `redis`) are read; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Options of one write (`set`, `wrap`).
 * @example await cache.set('user:42', { name: 'Ada' }, { ttlMs: 60_000 });
 */
export interface CacheWriteOptions {
  /** Lifetime of the entry in ms, exact (Redis PX); default: the cache's `defaultTtlMs`. */
  readonly ttlMs?: number;
}

/**
 * JSON values in and out, encrypted with Fernet in between.
 * @example
 * await cache.set('user:42', { name: 'Ada' });
 * const profile = await cache.get<{ name: string }>('user:42'); // undefined on a miss
 */
export interface EncryptedCache {
  readonly namespace: string;
  readonly defaultTtlMs: number;
  readonly guard: RedisGuard;
  /** The value, or undefined on a miss, on an entry that fails to decrypt, or while Redis is down. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores a JSON-serialisable value; resolves false (and logs once) when Redis is down or refuses the write. */
  set(key: string, value: unknown, options?: CacheWriteOptions): Promise<boolean>;
  /**
   * Removes an entry; rejects with RedisUnavailableError (HTTP status 503) when Redis is down or
   * refuses the delete: a lost invalidation matters, so it is never reported as done.
   */
  del(key: string): Promise<boolean>;
  /** Cache-aside: the cached value, or the producer's (stored, unless undefined). One producer per key at a time. */
  wrap<T>(key: string, producer: () => T | Promise<T>, options?: CacheWriteOptions): Promise<T>;
  /**
   * Re-encrypts every entry of the namespace with the newest key, using SCAN (never KEYS) on every
   * master of a Cluster. Each write is a compare-and-set that keeps the entry's TTL, so a value
   * the application writes meanwhile is never overwritten. Resumable (`cursor`) and safe to run
   * twice; rejects with RedisUnavailableError when Redis cannot answer.
   */
  rotate(options?: RotationOptions): Promise<RotationResult>;
}

interface Flight {
  promise: Promise<unknown>;
  superseded: boolean;
}

/** The `ttlMs` of one write, checked on every call: it comes from the caller, not from the configuration. */
function writeTtl(method: string, options: CacheWriteOptions | undefined): number | undefined {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new OptionError(
      'options',
      `cache.${method}(): the options must be an object such as { ttlMs: 60_000 }, got ${options === null ? 'null' : typeof options}`,
    );
  }
  checkOptions(`cache.${method}`, options, { ttlMs: positiveInteger });
  return options?.ttlMs;
}

/**
 * Creates a cache whose values are Fernet tokens in Redis, readable by Python's `cryptography.fernet`.
 * @example
 * const cache = createEncryptedCache({ redis: guard, namespace: 'profiles', defaultTtlMs: 600_000 });
 * const profile = await cache.wrap(`user:${userId}`, async () => ({ id: userId, name: 'Ada' }));
 */
export function createEncryptedCache(options: EncryptedCacheOptions): EncryptedCache {
  checkOptions('createEncryptedCache', options, {
    redis: 'object',
    keys: ['string', 'array'],
    namespace: {
      kind: 'string',
      required: 'entries live under <keyPrefix>cache:<namespace>:, e.g. { namespace: "profiles" }',
    },
    defaultTtlMs: positiveInteger,
    compressAbove: positiveInteger,
    logger: 'object',
    env: 'object',
  });
  if (!NAMESPACE_PATTERN.test(options.namespace)) {
    throw new OptionError(
      'namespace',
      `createEncryptedCache(): option "namespace" must be 1-64 letters, digits, "_", "." or "-", got ${String(options.namespace)}`,
    );
  }
  const env = options.env ?? process.env;
  const guard = toGuard(options.redis, { env, ...(options.logger && { logger: options.logger }) });
  let keySecrets: readonly string[] = [];
  const logger = maskingLogger(options.logger ?? guard.logger, () => [...guard.secrets(), ...keySecrets]);
  const { fernets, secrets } = resolveKeys(options.keys, env, guard.environment, logger);
  keySecrets = secrets;
  const keys = new Keyring(fernets);
  const { namespace, compressAbove } = options;
  const defaultTtlMs = options.defaultTtlMs ?? DEFAULT_TTL_MS;
  const prefix = `${cachePrefix(guard.keyPrefix)}${namespace}:`;
  const store = guard.mode === 'memory' ? memoryStore() : redisStore(guard);
  const inflight = new Map<string, Flight>();
  const reported = new Set<string>();
  let degraded = false;
  let refusing = false;

  const redisKey = (key: unknown): string => {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new OptionError(
        'key',
        `cache key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`,
      );
    }
    return prefix + key;
  };
  // Key names may hold PII (an email, a user id): logs get a fingerprint that correlates, not the name.
  const fingerprint = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 12);
  const refused = (key: string, reason: RefusalReason) => {
    if (reported.has(key)) return;
    if (reported.size >= REPORTED_LIMIT) reported.delete(reported.values().next().value!);
    reported.add(key);
    logger.warn(
      { event: 'cache.tampered', namespace, key: fingerprint(key), reason },
      'cache entry refused: it failed authentication or does not belong to this key (tampering, or a key ' +
        'missing from `keys`); treated as a miss',
    );
  };
  // Runs a store call. The cache is not a security control, so a failing Redis never fails the
  // caller: reads miss and writes are skipped, logged once per outage (and each unexpected error).
  const attempt = async <T>(
    name: string,
    operation: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> => {
    try {
      const value = await operation();
      if (degraded) {
        degraded = false;
        logger.info({ event: 'cache.recovered', namespace }, 'Redis answers again; cache back in use');
      }
      return { ok: true, value };
    } catch (error) {
      const err = scrubError(error, guard.secrets());
      if (!(error instanceof RedisUnavailableError)) {
        // e.g. WRONGTYPE because something else wrote a hash at our key.
        logger.warn(
          { event: 'cache.store_error', namespace, key: fingerprint(name), err },
          'cache store call failed; bypassing the cache',
        );
      } else if (REFUSALS.has(error.code)) {
        // Redis answers but will not store (NOREPLICAS, OOM, MISCONF, an ACL denial): reads still
        // hit, writes are skipped. Logged once until a write is accepted again.
        if (!refusing) {
          refusing = true;
          logger.warn(
            { event: 'cache.write_refused', namespace, err },
            'Redis refuses cache writes: entries are not stored until it accepts them again',
          );
        }
      } else if (!degraded) {
        degraded = true;
        logger.warn(
          { event: 'cache.bypass', namespace, err },
          'Redis is unavailable: cache reads miss and writes are skipped until it returns',
        );
      }
      return { ok: false };
    }
  };

  // Spans name the namespace and whether the read hit, never the key (it may hold an email or an id).
  const get = <T>(key: string): Promise<T | undefined> =>
    withSpan(
      '@sec/cache-crypto',
      'sec.cache.get',
      { 'sec.cache.namespace': namespace },
      () => read<T>(key),
      (value) => ({ 'sec.cache.hit': value !== undefined }),
    );

  const read = async <T>(key: string): Promise<T | undefined> => {
    const name = redisKey(key);
    const found = await attempt(name, () => store.get(name));
    if (!found.ok || found.value === null) return undefined;
    const opened = await openEntry(keys, name, found.value);
    if (!opened.ok) {
      refused(name, opened.reason);
      return undefined;
    }
    return opened.value as T;
  };

  const write = (name: string, value: unknown, ttlMs: number): Promise<boolean> =>
    withSpan(
      '@sec/cache-crypto',
      'sec.cache.set',
      { 'sec.cache.namespace': namespace },
      () => seal(name, value, ttlMs),
      (stored) => ({ 'sec.cache.stored': stored }),
    );

  const seal = async (name: string, value: unknown, ttlMs: number): Promise<boolean> => {
    if (value === undefined) {
      throw new OptionError('value', 'cache values must be JSON-serialisable; undefined cannot be stored');
    }
    const token = await sealEntry(keys, name, ttlMs, value, compressAbove);
    const stored = (await attempt(name, () => store.set(name, token, ttlMs))).ok;
    // A fresh entry: if it is tampered with again, that is worth a new log line.
    if (stored) {
      reported.delete(name);
      refusing = false;
    }
    return stored;
  };
  // A set() or del() while a wrap() producer runs means the producer's result may already be stale.
  const supersede = (name: string) => {
    const flight = inflight.get(name);
    if (flight) flight.superseded = true;
  };

  const cache: EncryptedCache = {
    namespace,
    defaultTtlMs,
    guard,
    get,
    async set(key, value, options) {
      const name = redisKey(key);
      const ttlMs = writeTtl('set', options) ?? defaultTtlMs;
      supersede(name);
      return write(name, value, ttlMs);
    },
    async del(key) {
      const name = redisKey(key);
      supersede(name);
      return store.del(name);
    },
    async wrap<T>(key: string, producer: () => T | Promise<T>, options?: CacheWriteOptions): Promise<T> {
      const name = redisKey(key);
      if (typeof producer !== 'function') {
        throw new OptionError(
          'producer',
          'cache.wrap(key, producer, options?): producer must be a function; the ttl goes in options ({ ttlMs })',
        );
      }
      const ttlMs = writeTtl('wrap', options) ?? defaultTtlMs;
      const running = inflight.get(name);
      if (running) return running.promise as Promise<T>;
      const flight: Flight = { promise: Promise.resolve(), superseded: false };
      flight.promise = (async () => {
        const cached = await get<T>(key);
        if (cached !== undefined) return cached;
        const produced = await producer();
        // Superseded: return the result to the callers who asked, but do not cache it over the newer write.
        if (produced !== undefined && !flight.superseded) await write(name, produced, ttlMs);
        return produced;
      })().finally(() => inflight.delete(name));
      inflight.set(name, flight);
      return flight.promise as Promise<T>;
    },
    async rotate(rotationOptions) {
      const result = await rotateEntries(
        { store, keys, logger, namespace, pattern: `${prefix}*` },
        rotationOptions,
      );
      const { rotated, current, skipped, invalid, complete } = result;
      guard.report(
        { type: 'cache.key_rotation', namespace, rotated, current, skipped, invalid, complete },
        {},
      );
      return result;
    },
  };
  return cache;
}
