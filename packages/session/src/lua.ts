import { createHash } from 'node:crypto';
import type { RedisClient } from '@sec/redis-guard';

/**
 * Shared helpers. Timestamps arrive as ARGV strings and are written back as strings: Lua numbers
 * handed to redis.call may be formatted in exponent notation, so only small relative durations
 * (PEXPIRE arguments) travel as numbers.
 */
const PRELUDE = `
local function parse(v)
  local seen, abs, idle = string.match(v, '^(%d+)|(%d+)|(%d+)|')
  if not seen then return nil end
  return tonumber(seen), tonumber(abs), tonumber(idle)
end
local function live(v, now)
  local seen, abs, idle = parse(v)
  return seen ~= nil and now < abs and now < seen + idle
end
-- Eviction order: least recently used first, then oldest, then by handle (deterministic).
local function before(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  if a[3] ~= b[3] then return a[3] < b[3] end
  return a[1] < b[1]
end
local function extend(key, ms)
  ms = math.floor(ms)
  if ms > 0 and redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
`;

/**
 * KEYS: sessions hash, user hash. ARGV: handle, record, ttl ms, set roles ('1'/'0'), roles,
 * retention ms, channel, login event, now, max sessions, policy ('revoke-least-recent' /
 * 'refuse'), eviction event (its sessionId is the `<user key>.` prefix).
 * The cap keeps the hash at most `max` fields long, so this scan, LIST, REVOKE_ALL and
 * REVOKE_OTHERS each touch a bounded number of records whatever the number of logins. Dead
 * records are dropped on the way; when the live ones still fill the cap, the least recently used
 * are revoked (ties: oldest, then by handle, so the choice is deterministic) or the login is
 * refused. Returns {1 | 0 (refused), {evicted handles}}.
 */
const CREATE = `
local now = tonumber(ARGV[9])
local max = tonumber(ARGV[10])
local evicted = {}
if redis.call('HLEN', KEYS[1]) >= max then
  local all = redis.call('HGETALL', KEYS[1])
  -- One pass: drop the dead, count the live, and keep the least recently used one in hand.
  local alive, oldest = 0, nil
  for i = 1, #all, 2 do
    local seen, abs, idle = parse(all[i + 1])
    if seen and now < abs and now < seen + idle then
      alive = alive + 1
      local created = tonumber(string.match(all[i + 1], '^%d+|%d+|%d+|(%d+)|'))
      local entry = {all[i], seen, created}
      if not oldest or before(entry, oldest) then oldest = entry end
      all[i + 1] = entry
    else
      redis.call('HDEL', KEYS[1], all[i])
      all[i + 1] = false
    end
  end
  local excess = alive - max + 1
  if excess > 0 then
    if ARGV[11] == 'refuse' then return {0, {}} end
    -- Normally one over the cap; more only right after the cap was lowered.
    local victims = {oldest}
    if excess > 1 then
      victims = {}
      for i = 2, #all, 2 do
        if all[i] then victims[#victims + 1] = all[i] end
      end
      table.sort(victims, before)
    end
    local event = ARGV[7] ~= '' and cjson.decode(ARGV[12]) or nil
    local prefix = event and event.sessionId
    for i = 1, excess do
      local handle = victims[i][1]
      redis.call('HDEL', KEYS[1], handle)
      evicted[#evicted + 1] = handle
      if event then
        event.sessionId = prefix .. handle
        redis.call('PUBLISH', ARGV[7], cjson.encode(event))
      end
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
extend(KEYS[1], tonumber(ARGV[3]))
if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'roles', ARGV[5]) end
if redis.call('EXISTS', KEYS[2]) == 1 then extend(KEYS[2], tonumber(ARGV[6])) end
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
return {1, evicted}
`;

/**
 * The per-request check. KEYS: sessions hash, user hash. ARGV: handle, token hash ('' = skip),
 * now, touch-after ms, with roles ('1'/'0'). Reads the record and writes lastSeen in the same
 * atomic step, only when the record exists: a concurrent revoke can never be undone. Returns
 * {roles, last authentication} or nil. Records from before authAt existed fall back to created.
 */
const CHECK = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
local now = tonumber(ARGV[3])
local seen, abs, idle = parse(v)
if not seen or now >= abs or now >= seen + idle then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return false
end
local created, hash, rest = string.match(v, '^%d+|%d+|%d+|(%d+)|([^|]*)|(.*)$')
if ARGV[2] ~= '' and hash ~= ARGV[2] then return false end
if now - seen >= tonumber(ARGV[4]) then
  local cut = string.find(v, '|', 1, true)
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. string.sub(v, cut))
  extend(KEYS[1], math.min(now + idle, abs) - now)
end
local auth = string.match(rest, '^(%d+)|') or created
local roles = ''
if ARGV[5] == '1' then roles = redis.call('HGET', KEYS[2], 'roles') or '' end
return {roles, auth}
`;

/**
 * KEYS: sessions hash. ARGV: handle, now. Sets the live session's last authentication to now,
 * inserting the field into records written before it existed.
 */
const REAUTHENTICATE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or not live(v, tonumber(ARGV[2])) then return 0 end
local head, rest = string.match(v, '^(%d+|%d+|%d+|%d+|[^|]*|)(.*)$')
local old = string.match(rest, '^%d+|')
if old then rest = string.sub(rest, #old + 1) end
redis.call('HSET', KEYS[1], ARGV[1], head .. ARGV[2] .. '|' .. rest)
return 1
`;

/** KEYS: sessions hash, user hash. ARGV: now. Returns {handle, record, …} of live sessions and the roles; prunes the dead. */
const LIST = `
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  if live(all[i + 1], now) then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return {out, redis.call('HGET', KEYS[2], 'roles') or ''}
`;

/** KEYS: sessions hash. ARGV: handle, now, channel, event. */
const REVOKE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if not live(v, tonumber(ARGV[2])) then return 0 end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1
`;

/**
 * KEYS: sessions hash. ARGV: now, channel, event. One key holds all of a user's sessions, so
 * revoking them all is one UNLINK, whatever their number; the count is only for the audit event.
 */
const REVOKE_ALL = `
local now = tonumber(ARGV[1])
local values = redis.call('HVALS', KEYS[1])
local n = 0
for i = 1, #values do
  if live(values[i], now) then n = n + 1 end
end
redis.call('UNLINK', KEYS[1])
if n > 0 and ARGV[2] ~= '' then
  local event = cjson.decode(ARGV[3])
  event.count = n
  redis.call('PUBLISH', ARGV[2], cjson.encode(event))
end
return n
`;

/**
 * KEYS: sessions hash. ARGV: handle to keep, now, channel, event. Removes every other record
 * (at most maxSessionsPerUser of them); the count of live ones goes into the audit event.
 */
const REVOKE_OTHERS = `
local now = tonumber(ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] then
    if live(all[i + 1], now) then n = n + 1 end
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if n > 0 and ARGV[3] ~= '' then
  local event = cjson.decode(ARGV[4])
  event.count = n
  redis.call('PUBLISH', ARGV[3], cjson.encode(event))
end
return n
`;

/** KEYS: user hash. ARGV: roles, retention ms, channel, event. */
const SET_ROLES = `
redis.call('HSET', KEYS[1], 'roles', ARGV[1])
extend(KEYS[1], tonumber(ARGV[2]))
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1
`;

/**
 * A script run by EVALSHA, falling back to EVAL once after a Redis restart emptied the script cache.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly #keys: number;

  constructor(body: string, keys: number) {
    this.source = PRELUDE + body;
    this.sha = createHash('sha1').update(this.source).digest('hex');
    this.#keys = keys;
  }

  async run(
    client: RedisClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, this.#keys, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, this.#keys, ...keys, ...args);
    }
  }
}

/**
 * Every script the Redis store runs; each declares all its keys, which share one hash tag.
 */
export const SCRIPTS = {
  create: new LuaScript(CREATE, 2),
  check: new LuaScript(CHECK, 2),
  list: new LuaScript(LIST, 2),
  revoke: new LuaScript(REVOKE, 1),
  revokeAll: new LuaScript(REVOKE_ALL, 1),
  revokeOthers: new LuaScript(REVOKE_OTHERS, 1),
  reauthenticate: new LuaScript(REAUTHENTICATE, 1),
  setRoles: new LuaScript(SET_ROLES, 1),
} as const;
