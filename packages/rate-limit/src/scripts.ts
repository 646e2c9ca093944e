import type { RedisClient } from '@sec/redis-guard';

/**
 * Counts one attempt atomically: the first sets the window's expiry, the one that first exceeds the
 * limit replaces it with the block duration (rate-limiter-flexible's semantics, in one script so
 * that no concurrent call sees a half-applied block). KEYS[1] counter; ARGV limit, windowMs, blockMs.
 */
export const RESERVE_SCRIPT = `
local used = redis.call('INCR', KEYS[1])
local limit = tonumber(ARGV[1])
if used == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif used == limit + 1 and tonumber(ARGV[3]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {used, ttl}
`;

/** Gives one attempt back, but never to a counter that has expired (that would start below zero). */
export const REFUND_SCRIPT = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used and used > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`;

/** The client with the scripts defined as commands (ioredis `defineCommand`). */
export interface ScriptedClient {
  secRateLimitReserve(
    key: string,
    limit: number,
    windowMs: number,
    blockMs: number,
  ): Promise<[number, number]>;
  secRateLimitRefund(key: string): Promise<number>;
}

/** Defines the scripts on a client; redefining them with the same body is harmless. */
export function defineScripts(client: RedisClient): ScriptedClient {
  // ioredis sends EVALSHA and falls back to EVAL after a NOSCRIPT (a restarted or new node).
  client.defineCommand('secRateLimitReserve', { numberOfKeys: 1, lua: RESERVE_SCRIPT });
  client.defineCommand('secRateLimitRefund', { numberOfKeys: 1, lua: REFUND_SCRIPT });
  return client as unknown as ScriptedClient;
}
