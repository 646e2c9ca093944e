import { createHash } from 'node:crypto';
import {
  checkOptions,
  type Logger,
  maskingLogger,
  OptionError,
  positiveInteger,
  type RedisClient,
  type RedisGuard,
  RedisGuardErrorCode,
  RedisUnavailableError,
  scrubError,
  toGuard,
} from '@sec/redis-guard';
import { openEntry, type RefusalReason, sealEntry } from './envelope.js';
import type { Fernet } from './fernet.js';
import { resolveKeys } from './keys.js';
import { type EntryStore, memoryStore, redisStore } from './store.js';

/**
 * Entry lifetime when `set` and `wrap` are given none: five minutes.
 * @example createEncryptedCache({ namespace: 'n', defaultTtl: DEFAULT_TTL_SECONDS * 2 })
 */
export const DEFAULT_TTL_SECONDS = 300;
/**
 * Longest accepted cache key, in characters.
 * @example if (key.length > MAX_KEY_LENGTH) key = sha256(key)
 */
export const MAX_KEY_LENGTH = 1024;
const NAMESPACE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Distinct tampered keys remembered so each is logged once. */
const REPORTED_LIMIT = 1000;
/** Redis answered but refused the call: not an outage, so reads go on while writes are skipped. */
const REFUSALS: ReadonlySet<string> = new Set([
  RedisGuardErrorCode.WriteRefused,
  RedisGuardErrorCode.PermissionDenied,
]);

/**
 * Options of createEncryptedCache, validated once at creation.
 * @example const options: EncryptedCacheOptions = { redis: guard, namespace: 'profiles', defaultTtl: 600 };
 */
export interface EncryptedCacheOptions {
  /** A RedisGuard, a bare ioredis client, or nothing (a guard built from `env`). */
  readonly redis?: RedisGuard | RedisClient;
  /** Fernet keys, newest first: the first encrypts, all decrypt. Default: REDIS_ENCRYPTION_KEY. */
  readonly keys?: string | readonly string[];
  /** Letters, digits, `_`, `.`, `-`; entries live under `<keyPrefix>cache:<namespace>:` (the guard's keyPrefix, default 'sec:'). */
  readonly namespace: string;
  /** Seconds; default 300. Every entry expires: cached PII never lives for ever. */
  readonly defaultTtl?: number;
  /** Deflate values whose JSON is at least this many bytes before encrypting. Default: never (see README). */
  readonly compressAbove?: number;
  readonly logger?: Logger;
  /** Where REDIS_ENCRYPTION_KEY (and Redis settings, without `redis`) are read; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * JSON values in and out, encrypted with Fernet in between.
 * @example await cache.set('user:42', profile); const again = await cache.get<Profile>('user:42');
 */
export interface EncryptedCache {
  readonly namespace: string;
  readonly defaultTtl: number;
  readonly guard: RedisGuard;
  /** The value, or undefined on a miss, on an entry that fails to decrypt, or while Redis is down. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores a JSON-serialisable value; resolves false (and logs once) when Redis is down or refuses the write. */
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  /**
   * Removes an entry; rejects with RedisUnavailableError (HTTP status 503) when Redis is down or
   * refuses the delete: a lost invalidation matters, so it is never reported as done.
   */
  del(key: string): Promise<boolean>;
  /** Cache-aside: the cached value, or the producer's (stored, unless undefined). One producer per key at a time. */
  wrap<T>(key: string, ttl: number | undefined, producer: () => T | Promise<T>): Promise<T>;
}

/** What rotateNamespace needs; kept off the public object. */
export interface CacheInternals {
  readonly store: EntryStore;
  readonly fernets: readonly Fernet[];
  readonly logger: Logger;
  readonly pattern: string;
}

interface Flight {
  promise: Promise<unknown>;
  superseded: boolean;
}

const registry = new WeakMap<EncryptedCache, CacheInternals>();

/**
 * The store, keys and logger behind a cache, for rotateNamespace.
 * @example const { store } = cacheInternals(cache);
 */
export function cacheInternals(cache: EncryptedCache): CacheInternals {
  const internals = registry.get(cache);
  if (!internals) throw new OptionError('cache', 'expected a cache created by createEncryptedCache()');
  return internals;
}

function checkTtl(ttl: unknown): number | undefined {
  if (ttl !== undefined && (!Number.isSafeInteger(ttl) || (ttl as number) <= 0)) {
    throw new OptionError('ttl', `ttl must be a positive integer number of seconds, got ${String(ttl)}`);
  }
  return ttl as number | undefined;
}

/**
 * Creates a cache whose values are Fernet tokens in Redis, readable by Python's `cryptography.fernet`.
 * @example
 * const cache = createEncryptedCache({ redis: guard, namespace: 'profiles', defaultTtl: 600 });
 * const profile = await cache.wrap(`user:${id}`, undefined, () => db.loadProfile(id));
 */
export function createEncryptedCache(options: EncryptedCacheOptions): EncryptedCache {
  checkOptions('createEncryptedCache', options, {
    redis: 'object',
    keys: ['string', 'array'],
    namespace: 'string',
    defaultTtl: positiveInteger,
    compressAbove: positiveInteger,
    logger: 'object',
    env: 'object',
  });
  if (options.namespace === undefined || !NAMESPACE_PATTERN.test(options.namespace)) {
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
  const primary = fernets[0]!;
  const { namespace, compressAbove } = options;
  const defaultTtl = options.defaultTtl ?? DEFAULT_TTL_SECONDS;
  const prefix = `${guard.keyPrefix}cache:${namespace}:`;
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

  const get = async <T>(key: string): Promise<T | undefined> => {
    const name = redisKey(key);
    const read = await attempt(name, () => store.get(name));
    if (!read.ok || read.value === null) return undefined;
    const opened = await openEntry(fernets, name, read.value);
    if (!opened.ok) {
      refused(name, opened.reason);
      return undefined;
    }
    return opened.value as T;
  };

  const write = async (name: string, value: unknown, ttl: number | undefined): Promise<boolean> => {
    const seconds = checkTtl(ttl) ?? defaultTtl;
    if (value === undefined) {
      throw new OptionError('value', 'cache values must be JSON-serialisable; undefined cannot be stored');
    }
    const token = await sealEntry(primary, name, seconds, value, compressAbove);
    const stored = (await attempt(name, () => store.set(name, token, seconds * 1000))).ok;
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
    defaultTtl,
    guard,
    get,
    async set(key, value, ttl) {
      const name = redisKey(key);
      supersede(name);
      return write(name, value, ttl);
    },
    async del(key) {
      const name = redisKey(key);
      supersede(name);
      return store.del(name);
    },
    async wrap<T>(key: string, ttl: number | undefined, producer: () => T | Promise<T>): Promise<T> {
      const name = redisKey(key);
      checkTtl(ttl);
      const running = inflight.get(name);
      if (running) return running.promise as Promise<T>;
      const flight: Flight = { promise: Promise.resolve(), superseded: false };
      flight.promise = (async () => {
        const cached = await get<T>(key);
        if (cached !== undefined) return cached;
        const produced = await producer();
        // Superseded: return the result to the callers who asked, but do not cache it over the newer write.
        if (produced !== undefined && !flight.superseded) await write(name, produced, ttl);
        return produced;
      })().finally(() => inflight.delete(name));
      inflight.set(name, flight);
      return flight.promise as Promise<T>;
    },
  };
  registry.set(cache, { store, fernets, logger, pattern: `${prefix}*` });
  return cache;
}
