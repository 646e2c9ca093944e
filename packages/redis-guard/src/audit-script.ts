import { createHash } from 'node:crypto';
import type { RedisClient } from './client.js';

/**
 * SHA-256 in Redis's Lua 5.1 with its `bit` library. Redis scripts offer only `redis.sha1hex`;
 * SHA-256 keeps the chain on the hash every audit standard names, computed inside the script that
 * appends: reading the previous hash, hashing and XADD are one atomic step, however many processes
 * append at once. Interpreted Lua hashes slowly (about a tenth of a millisecond per 64-byte block),
 * so the script hashes a fixed 2 blocks per entry: the previous hash and the digest of the entry's
 * fields (which the writer computes with node:crypto, and `verify` recomputes from the fields), the
 * id and the sequence number. Checked against node:crypto in the test suite.
 */
const SHA256 = `
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rshift, lshift, ror, tobit, tohex = bit.rshift, bit.lshift, bit.ror, bit.tobit, bit.tohex
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local function sha256(msg)
  local bits = #msg * 8
  msg = msg .. '\\128' .. string.rep('\\0', (55 - #msg) % 64)
  local high, low = math.floor(bits / 4294967296), bits % 4294967296
  for _, word in ipairs({ high, low }) do
    msg = msg .. string.char(math.floor(word / 16777216) % 256, math.floor(word / 65536) % 256,
      math.floor(word / 256) % 256, word % 256)
  end
  local H = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
  for i = 1, 8 do H[i] = tobit(H[i]) end
  local w = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local b1, b2, b3, b4 = string.byte(msg, chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(lshift(b1, 24), lshift(b2, 16), lshift(b3, 8), b4)
    end
    for i = 16, 63 do
      local x, y = w[i - 15], w[i - 2]
      local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
      local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
      w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
    end
    local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
    for i = 0, 63 do
      local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
      local ch = bxor(band(e, f), band(bnot(e), g))
      local t1 = tobit(h + S1 + ch + K[i + 1] + w[i])
      local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
      local maj = bxor(band(a, b), band(a, c), band(b, c))
      h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + S0 + maj)
    end
    H[1], H[2], H[3], H[4] = tobit(H[1] + a), tobit(H[2] + b), tobit(H[3] + c), tobit(H[4] + d)
    H[5], H[6], H[7], H[8] = tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h)
  end
  local out = {}
  for i = 1, 8 do out[i] = tohex(H[i], 8) end
  return table.concat(out)
end
local function enc(s)
  return #s .. ':' .. s
end
local function bytes(hex)
  return (string.gsub(hex, '%x%x', function(h) return string.char(tonumber(h, 16)) end))
end
`;

/**
 * Appends one entry. KEYS: the stream, its head (`<n> <id> <hash>` of the newest entry) and, for
 * an aggregated event, its once-per-window marker. ARGV: the cap, the marker's lifetime in ms, the
 * SHA-256 of the caller's fields (see fieldsDigest), then those field/value pairs. The id is chosen
 * here (server time, or one past the head's id when the clock has not moved on) because the hash
 * covers it and XADD's `*` would pick it only afterwards. Returns the new id, or false when the
 * marker says this window already has its entry.
 */
const APPEND = `${SHA256}
if KEYS[3] and not redis.call('SET', KEYS[3], '1', 'PX', ARGV[2], 'NX') then return false end
local head = redis.call('GET', KEYS[2])
local n, lastMs, lastSeq, prev = 0, 0, -1, string.rep('0', 64)
if head then
  local hn, hms, hseq, hhash = string.match(head, '^(%d+) (%d+)-(%d+) (%x+)$')
  n, lastMs, lastSeq, prev = tonumber(hn), tonumber(hms), tonumber(hseq), hhash
end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local id
if ms > lastMs then id = string.format('%.0f-0', ms) else id = string.format('%.0f-%.0f', lastMs, lastSeq + 1) end
n = n + 1
local hash = sha256(bytes(prev) .. bytes(ARGV[3]) .. enc(id) .. enc(tostring(n)))
local fields = { 'n', tostring(n) }
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
fields[#fields + 1] = 'prev'
fields[#fields + 1] = prev
fields[#fields + 1] = 'hash'
fields[#fields + 1] = hash
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], id, unpack(fields))
redis.call('SET', KEYS[2], n .. ' ' .. id .. ' ' .. hash)
return id
`;

/** Hashes a string in Lua: lets the test suite check the script's SHA-256 against node:crypto. */
const DIGEST = `${SHA256}
return sha256(ARGV[1])
`;

/** A script run by EVALSHA, falling back to EVAL after a script-cache flush or on a new node. */
export class AuditScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    client: RedisClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

export const APPEND_SCRIPT = new AuditScript(APPEND);
export const DIGEST_SCRIPT = new AuditScript(DIGEST);
