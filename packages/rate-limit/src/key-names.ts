import { createHash } from 'node:crypto';
import type { RedisGuard } from '@sec/redis-guard';
import { RateLimitErrorCode as Code, RateLimitNameError } from './errors.js';

/**
 * Keys made of these characters and no longer than this are stored readably; anything else
 * (huge header values, braces that would move the Cluster hash tag, control characters) is hashed.
 */
const READABLE_KEY = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

// The names taken on each guard. One instance of this module per process (the require() entry
// loads the ES module build), so a name taken by an import caller is taken for require() callers too.
const takenNames = new WeakMap<RedisGuard, Set<string>>();

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
  const names = takenNames.get(guard) ?? new Set<string>();
  takenNames.set(guard, names);
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
 */
export function storageKey(name: string, key: string): string {
  const safe = READABLE_KEY.test(key) ? key : `#${createHash('sha256').update(key).digest('base64url')}`;
  return `{${name}:${safe}}`;
}

/** Where every key this package writes starts, under the guard's key prefix: `sec:rl:` by default. */
export function rateLimitPrefix(keyPrefix: string): string {
  return `${keyPrefix}rl:`;
}

/**
 * rate-limiter-flexible's `keyPrefix` for a limiter (`sec:rl:login.ip`); it joins it to the storage
 * key with a ':', so the limiter's keys are `sec:rl:login.ip:{login.ip:…}`.
 */
export function limiterPrefix(guard: RedisGuard, name: string): string {
  return `${rateLimitPrefix(guard.keyPrefix)}${name}`;
}
