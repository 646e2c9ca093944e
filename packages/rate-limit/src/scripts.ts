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

/**
 * Counts one request of `cost` points in every window of a limiter, or in none: it is allowed only
 * when it fits in each window, and then counted in each. A refused request is not counted (a flood
 * of refused requests cannot push a window's reset further away); with a block duration, the
 * windows that refused are filled and held for that long. A key without an expiry (left by an older
 * writer) starts over. KEYS: one counter per window, all under one hash tag. ARGV: cost, blockMs,
 * then points and windowMs of each window. Returns {1 allowed | 0 refused, used1, pttl1, used2, …}.
 */
export const CONSUME_SCRIPT = `
local cost = tonumber(ARGV[1])
local block = tonumber(ARGV[2])
local used, ttl, refused = {}, {}, {}
local allowed = 1
for i = 1, #KEYS do
  local points = tonumber(ARGV[1 + 2 * i])
  local t = redis.call('PTTL', KEYS[i])
  local u = 0
  if t > 0 then u = tonumber(redis.call('GET', KEYS[i])) or 0 end
  used[i] = u
  ttl[i] = t
  if u + cost > points then
    allowed = 0
    refused[i] = points
  end
end
local reply = {allowed}
for i = 1, #KEYS do
  if allowed == 1 then
    if ttl[i] > 0 then
      used[i] = redis.call('INCRBY', KEYS[i], cost)
    else
      ttl[i] = tonumber(ARGV[2 + 2 * i])
      redis.call('SET', KEYS[i], cost, 'PX', ttl[i])
      used[i] = cost
    end
  elseif refused[i] and block > ttl[i] then
    redis.call('SET', KEYS[i], refused[i], 'PX', block)
    used[i] = refused[i]
    ttl[i] = block
  end
  reply[#reply + 1] = used[i]
  reply[#reply + 1] = ttl[i]
end
return reply
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
  secRateLimitConsume(...keysAndArgs: (string | number)[]): Promise<number[]>;
}

/** Defines the scripts on a client; redefining them with the same body is harmless. */
export function defineScripts(client: RedisClient): ScriptedClient {
  // ioredis sends EVALSHA and falls back to EVAL after a NOSCRIPT (a restarted or new node).
  client.defineCommand('secRateLimitReserve', { numberOfKeys: 1, lua: RESERVE_SCRIPT });
  client.defineCommand('secRateLimitRefund', { numberOfKeys: 1, lua: REFUND_SCRIPT });
  // The number of keys (one per window) comes first in the arguments: limiters differ in windows.
  client.defineCommand('secRateLimitConsume', { lua: CONSUME_SCRIPT });
  return client as unknown as ScriptedClient;
}
