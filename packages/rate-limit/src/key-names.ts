import { createHash } from 'node:crypto';
import type { RedisGuard } from '@sec/redis-guard';
import { RateLimitErrorCode as Code, RateLimitNameError } from './errors.js';

/**
 * Keys made of these characters and no longer than this are stored readably; anything else
 * (huge header values, braces that would move the Cluster hash tag, control characters) is hashed.
 */
const READABLE_KEY = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

// Shared by the ESM and CJS copies of this module, so a name taken in one is taken in both.
const REGISTRY = Symbol.for('@sec/rate-limit.names');

function registry(): WeakMap<RedisGuard, Set<string>> {
  const slot = globalThis as Record<symbol, WeakMap<RedisGuard, Set<string>> | undefined>;
  slot[REGISTRY] ??= new WeakMap();
  return slot[REGISTRY];
}

/**
 * Validates a limiter name and reserves it on the guard: two limiters with one name would share
 * counters. The name also appears in headers as a structured-field string, hence the charset.
 */
export function reserveName(guard: RedisGuard, name: string, factory: string): void {
  if (!NAME.test(name)) {
    throw new RateLimitNameError(
      Code.InvalidName,
      `${factory}(): name "${name.slice(0, 80)}" must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-".`,
      'name',
    );
  }
  const names = registry().get(guard) ?? new Set<string>();
  registry().set(guard, names);
  if (names.has(name)) {
    throw new RateLimitNameError(
      Code.DuplicateName,
      `${factory}(): a limiter named "${name}" already exists on guard "${guard.name}"; both would count into ` +
        'the same keys. Give each limiter its own name (e.g. "global", "per-user", "login"), or reuse the first one.',
      'name',
    );
  }
  names.add(name);
}

/**
 * The key rate-limiter-flexible stores under `<keyPrefix>rl:<name>:`. The braces make the limiter name
 * and client key the Redis Cluster hash tag, so one client's counter never spans slots while
 * different clients spread over the cluster.
 * @example storageKey('api', '203.0.113.9') // '{api:203.0.113.9}'
 */
export function storageKey(name: string, key: string): string {
  const safe = READABLE_KEY.test(key) ? key : `#${createHash('sha256').update(key).digest('base64url')}`;
  return `{${name}:${safe}}`;
}

/**
 * rate-limiter-flexible's `keyPrefix` for a limiter, under the guard's key prefix; it joins it to
 * the storage key with a ':'. Every key this package writes starts with `<keyPrefix>rl:`.
 * @example limiterPrefix(guard, 'login.ip') // 'sec:rl:login.ip' (keys 'sec:rl:login.ip:{login.ip:…}')
 */
export function limiterPrefix(guard: RedisGuard, name: string): string {
  return `${guard.keyPrefix}rl:${name}`;
}
