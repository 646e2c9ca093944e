import { OptionError } from '@sec/redis-guard';
import { isRedisGuard, type OptionRule } from '@sec/redis-guard/internal';

/** `redis`: a RedisGuard or an ioredis client; a connection config here is a common mistake. */
export const redisOption: OptionRule = {
  kind: 'object',
  check: (value) => {
    const candidate = value as { status?: unknown; defineCommand?: unknown };
    if (
      isRedisGuard(value) ||
      (typeof candidate.status === 'string' && typeof candidate.defineCommand === 'function')
    ) {
      return undefined;
    }
    return 'must be a RedisGuard (createRedisGuard()) or an ioredis client; pass connection settings to createRedisGuard({ config })';
  },
};

/** `cost`: a positive integer, or a function computing one per request. */
export const costOption: OptionRule = {
  kind: ['number', 'function'],
  check: (value) =>
    typeof value === 'number' && !(Number.isInteger(value) && value > 0)
      ? 'must be a positive integer'
      : undefined,
};

/** Prefix length for IPv6 grouping: a /128 counts each address, a /32 a whole provider. */
export const ipv6SubnetOption: OptionRule = {
  kind: 'number',
  check: (value) =>
    Number.isInteger(value) && (value as number) >= 8 && (value as number) <= 128
      ? undefined
      : 'must be an integer from 8 to 128',
};

/**
 * A window or block length in ms that is a whole number of seconds: rate-limiter-flexible keeps
 * its Redis windows in seconds and would round anything else down (a 500 ms window to no expiry
 * at all), so such a value is refused rather than silently changed.
 */
export function wholeSeconds(minimum: 0 | 1000): OptionRule {
  return {
    kind: 'number',
    check: (value) =>
      Number.isSafeInteger(value) && (value as number) >= minimum && (value as number) % 1000 === 0
        ? undefined
        : `must be ${minimum === 0 ? '0 or ' : ''}a whole number of seconds in milliseconds (a multiple of 1000${minimum === 0 ? '' : ', at least 1000'}): limits are kept in whole seconds`,
  };
}

/** A fixed cost above the quota would refuse every request: a configuration error. */
export function assertCostWithinPoints(factory: string, cost: unknown, points: number): void {
  if (typeof cost === 'number' && cost > points) {
    throw new OptionError(
      'cost',
      `${factory}(): option "cost" (${cost}) exceeds "points" (${points}); every request would be refused`,
    );
  }
}
