import { createHash } from 'node:crypto';
import type { RedisClient } from '@sec/redis-guard';
import { RECORD_LUA } from './record.js';

/**
 * Shared helpers, after the record codec (decode, encode, live) from record.ts. Timestamps arrive
 * as ARGV strings and are written back as strings: Lua numbers handed to redis.call may be
 * formatted in exponent notation, so only small relative durations (PEXPIRE arguments) travel as
 * numbers.
 */
const PRELUDE = `${RECORD_LUA}
-- True for a record that is still live at now.
local function alive(v, now)
  local r = decode(v)
  return r ~= nil and live(r, now)
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
-- When the record ends if nothing touches it again (a number).
local function deadline(r)
  return math.min(tonumber(r.seen) + tonumber(r.idle), tonumber(r.abs))
end
-- A session's data hash: the sessions key with the handle appended, so it carries the user's hash
-- tag and sits in the same Cluster slot as the sessions hash every script here declares. Scripts
-- that remove several sessions learn their handles only by reading that hash, so they name these
-- keys themselves (same slot, same ACL key pattern).
local function datakey(handle)
  return KEYS[1] .. ':data:' .. handle
end
-- Every removal of a record removes its data in the same step.
local function dropdata(handle)
  redis.call('UNLINK', datakey(handle))
end
-- The record of handle in KEYS[1] if it is live at now, else nil.
local function liverecord(handle, now)
  local v = redis.call('HGET', KEYS[1], handle)
  if not v then return nil end
  local r = decode(v)
  if r and live(r, now) then return r end
  return nil
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
  local count, oldest = 0, nil
  for i = 1, #all, 2 do
    local r = decode(all[i + 1])
    if r and live(r, now) then
      count = count + 1
      local entry = {all[i], tonumber(r.seen), tonumber(r.created)}
      if not oldest or before(entry, oldest) then oldest = entry end
      all[i + 1] = entry
    else
      redis.call('HDEL', KEYS[1], all[i])
      dropdata(all[i])
      all[i + 1] = false
    end
  end
  local excess = count - max + 1
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
      dropdata(handle)
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
 * The per-request lookup. KEYS: sessions hash, user hash. ARGV: handle. Reads only: returns
 * {record, roles}, each nil when absent. One script rather than two HGETs: one command to send
 * and to answer costs the app less CPU per request, and Redis runs it atomically.
 */
const LOOKUP = `
return {redis.call('HGET', KEYS[1], ARGV[1]), redis.call('HGET', KEYS[2], 'roles')}
`;

/**
 * KEYS: sessions hash. ARGV: handle, now. Slides lastSeen to now (never backwards) on a record
 * that is there and live, and the expiry of the hash and of the session's data with it; returns 1, or 0 when there is no live
 * record. Reading and writing in one atomic step is what keeps a concurrent revoke from being
 * undone: nothing is written unless the record exists.
 */
const TOUCH = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local now = tonumber(ARGV[2])
local r = decode(v)
if not r or not live(r, now) then return 0 end
if tonumber(r.seen) < now then
  r.seen = ARGV[2]
  redis.call('HSET', KEYS[1], ARGV[1], encode(r))
end
extend(KEYS[1], deadline(r) - now)
extend(datakey(ARGV[1]), deadline(r) - now)
return 1
`;

/** KEYS: sessions hash. ARGV: handle, now. Deletes the record if it has expired (or is not a record); returns 1 when it did. */
const DROP_EXPIRED = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or alive(v, tonumber(ARGV[2])) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
dropdata(ARGV[1])
return 1
`;

/**
 * KEYS: sessions hash. ARGV: handle, now. Sets the live session's last authentication to now
 * (a legacy record is rewritten in the current layout).
 */
const REAUTHENTICATE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local r = decode(v)
if not r or not live(r, tonumber(ARGV[2])) then return 0 end
r.auth = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], encode(r))
return 1
`;

/** KEYS: sessions hash, user hash. ARGV: now. Returns {handle, record, …} of live sessions and the roles; prunes the dead. */
const LIST = `
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  if alive(all[i + 1], now) then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
    dropdata(all[i])
  end
end
return {out, redis.call('HGET', KEYS[2], 'roles') or ''}
`;

/** KEYS: sessions hash. ARGV: handle, now, channel, event. */
const REVOKE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
dropdata(ARGV[1])
if not alive(v, tonumber(ARGV[2])) then return 0 end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1
`;

/**
 * KEYS: sessions hash. ARGV: now, channel, event. One key holds all of a user's sessions, so
 * revoking them all is one UNLINK, plus one per session's data (at most maxSessionsPerUser); the
 * count is only for the audit event.
 */
const REVOKE_ALL = `
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  if alive(all[i + 1], now) then n = n + 1 end
  dropdata(all[i])
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
    if alive(all[i + 1], now) then n = n + 1 end
    redis.call('HDEL', KEYS[1], all[i])
    dropdata(all[i])
  end
end
if n > 0 and ARGV[3] ~= '' then
  local event = cjson.decode(ARGV[4])
  event.count = n
  redis.call('PUBLISH', ARGV[3], cjson.encode(event))
end
return n
`;

/**
 * KEYS: sessions hash. ARGV: handle, now, field ('' for all). Reads only: {0} when the session is
 * not live, else {1, {field, value, …}}.
 */
const DATA_READ = `
if not liverecord(ARGV[1], tonumber(ARGV[2])) then return {0} end
local key = datakey(ARGV[1])
if ARGV[3] == '' then return {1, redis.call('HGETALL', key)} end
local v = redis.call('HGET', key, ARGV[3])
if not v then return {1, {}} end
return {1, {ARGV[3], v}}
`;

/**
 * KEYS: sessions hash. ARGV: handle, now, field, value, max fields, max total bytes. Sets one
 * field of a live session's data and makes the data expire with the session: 'ok', or 'gone',
 * 'fields', 'totalBytes' with nothing written. One field per write, so parallel writers of
 * different fields never undo each other; the size check reads at most max fields lengths.
 */
const DATA_WRITE = `
local now = tonumber(ARGV[2])
local r = liverecord(ARGV[1], now)
if not r then return 'gone' end
local key = datakey(ARGV[1])
local names = redis.call('HKEYS', key)
local total, exists = 0, false
for i = 1, #names do
  if names[i] == ARGV[3] then
    exists = true
  else
    total = total + #names[i] + redis.call('HSTRLEN', key, names[i])
  end
end
if not exists and #names >= tonumber(ARGV[5]) then return 'fields' end
if total + #ARGV[3] + #ARGV[4] > tonumber(ARGV[6]) then return 'totalBytes' end
redis.call('HSET', key, ARGV[3], ARGV[4])
redis.call('PEXPIRE', key, math.floor(deadline(r) - now))
return 'ok'
`;

/**
 * KEYS: sessions hash. ARGV: handle, now, field ('' for all). Removes a field of a live
 * session's data, or all of it: -1 when the session is not live, else how many keys or fields went.
 */
const DATA_DELETE = `
if not liverecord(ARGV[1], tonumber(ARGV[2])) then return -1 end
if ARGV[3] == '' then return redis.call('UNLINK', datakey(ARGV[1])) end
return redis.call('HDEL', datakey(ARGV[1]), ARGV[3])
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
 * Read-only Redis work as data: one script call (its keys in one Cluster slot) and the function
 * that reads its reply. A caller may run it alone (runQuery) or send the same EVALSHA in one
 * pipeline with other work (falling back to EVAL with `script.source` on NOSCRIPT), and decode
 * the reply the same way.
 */
export interface ScriptQuery<T> {
  readonly script: LuaScript;
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
  decode(reply: unknown): T;
}

/**
 * Runs a query's script (EVALSHA, EVAL after a script-cache flush) and decodes the reply.
 */
export async function runQuery<T>(client: RedisClient, query: ScriptQuery<T>): Promise<T> {
  return query.decode(await query.script.run(client, query.keys, query.args));
}

/**
 * Every script the Redis store runs; each declares all its keys, which share one hash tag.
 */
export const SCRIPTS = {
  lookup: new LuaScript(LOOKUP, 2),
  create: new LuaScript(CREATE, 2),
  touch: new LuaScript(TOUCH, 1),
  dropExpired: new LuaScript(DROP_EXPIRED, 1),
  list: new LuaScript(LIST, 2),
  revoke: new LuaScript(REVOKE, 1),
  revokeAll: new LuaScript(REVOKE_ALL, 1),
  revokeOthers: new LuaScript(REVOKE_OTHERS, 1),
  reauthenticate: new LuaScript(REAUTHENTICATE, 1),
  setRoles: new LuaScript(SET_ROLES, 1),
  dataRead: new LuaScript(DATA_READ, 1),
  dataWrite: new LuaScript(DATA_WRITE, 1),
  dataDelete: new LuaScript(DATA_DELETE, 1),
} as const;
