import { isStrictEnvironment } from '../environment.js';
import { RedisGuardErrorCode as Code } from '../errors.js';
import { fail, pass, type RuleDefinition, unknown } from './rule.js';
import { PostureFindingCode as Finding } from './types.js';

/**
 * maxmemory-policy. Any policy but noeviction lets Redis delete keys under memory pressure, and
 * every session and rate-limit key carries a TTL, so `volatile-*` policies pick them as readily as
 * `allkeys-*`. Users are signed out at random, and an attacker who fills memory (large cache
 * entries, many sessions) resets his own login and rate limits. With noeviction Redis refuses the
 * write instead (OOM), which the packages answer with 503: fail closed. Refused in production and
 * staging.
 */
export const eviction: RuleDefinition = {
  rule: 'eviction',
  code: Finding.EvictionPolicy,
  setting: 'maxmemory-policy',
  override: 'REDIS_ACCEPT_EVICTION',
  severity: (environment) => (isStrictEnvironment(environment) ? 'refuse' : 'warn'),
  refusal: Code.EvictionPolicy,
  evaluate({ info, config }) {
    const policy = info.ok
      ? info.value.get('maxmemory_policy')
      : config.ok
        ? config.value.get('maxmemory-policy')
        : undefined;
    if (policy === undefined) {
      return unknown(
        [info, config].map((r) => (r.ok ? 'maxmemory_policy missing from INFO' : r.reason)).join('; '),
        '`redis-cli INFO memory` must show maxmemory_policy:noeviction (or CONFIG GET maxmemory-policy as an admin).',
      );
    }
    if (policy === 'noeviction') {
      return pass(
        policy,
        'maxmemory-policy is noeviction: when memory is full Redis refuses writes (OOM, answered 503) instead of deleting sessions or rate-limit counters.',
      );
    }
    return fail(
      policy,
      `maxmemory-policy is ${policy}: under memory pressure Redis deletes keys, and every session and ` +
        'rate-limit key is a candidate (they all carry a TTL, so volatile-* policies pick them too). Users are ' +
        'signed out at random, and an attacker who fills memory resets his own login and rate limits. Set ' +
        '`maxmemory-policy noeviction` (CONFIG SET maxmemory-policy noeviction, then CONFIG REWRITE, or your ' +
        "provider's parameter group) and size maxmemory for the data: a full Redis then refuses writes (503) " +
        'instead of forgetting them.',
    );
  },
};
