"""The Lua scripts of the Redis write queue's dead letters: recording one (which ends
its op's flight), replaying and dropping them.

Usage (what :class:`._redis_lua.Scripts` registers, after the shared functions)::

    client.register_script(_COMMON + FORGET + REPLAY)

Each script touches the keys of one partition only and keeps the invariants listed
in :mod:`._redis_lua`.
"""

from __future__ import annotations

__all__ = ["DEAD_LETTER", "DROP", "FORGET", "REPLAY"]

# KEYS: ops, flight, stream, dead, dead_latest, dead_count
# ARGV: group, key, version, entry, op code, value, error, now_ms
# Returns the dead letter's entry id.
DEAD_LETTER = """
local key, version = ARGV[2], ARGV[3]
local latest = tonumber(version)
local current = redis.call('HGET', KEYS[1], key)
if current then
  latest = math.max(latest, tonumber(version_of(current)))
end
local known = redis.call('HGET', KEYS[5], key)
if known then
  latest = math.max(latest, tonumber(known))
end
redis.call('HSET', KEYS[5], key, string.format('%d', latest))
redis.call('HINCRBY', KEYS[6], key, 1)
local id = redis.call('XADD', KEYS[4], '*', 'k', key, 'o', ARGV[5], 'v', ARGV[6],
                      'n', version, 'e', ARGV[7], 't', ARGV[8])
end_flight(KEYS[1], KEYS[2], KEYS[3], ARGV[1], key, version, ARGV[4])
trim(KEYS[3], ARGV[1])  -- entries completed while this one was held
return id
"""

FORGET = """
local function forget(dead_latest, dead_count, key)
  if redis.call('HINCRBY', dead_count, key, -1) <= 0 then
    redis.call('HDEL', dead_count, key)
    redis.call('HDEL', dead_latest, key)
  end
end

local function fields_of(flat)
  local f = {}
  for i = 1, #flat, 2 do
    f[flat[i]] = flat[i + 1]
  end
  return f
end
"""

# KEYS: ops, flight, stream, meta, dead, dead_latest, dead_count
# ARGV: group, now_ms, id, id, ...
# Returns one code per id: r(equeued), s(uperseded), m(issing).
REPLAY = """
local out = {}
for i = 3, #ARGV do
  local found = redis.call('XRANGE', KEYS[5], ARGV[i], ARGV[i])
  if #found == 0 then
    out[#out + 1] = 'm'
  else
    local f = fields_of(found[1][2])
    redis.call('XDEL', KEYS[5], ARGV[i])
    local latest = redis.call('HGET', KEYS[6], f.k)
    if (latest and tonumber(latest) > tonumber(f.n))
        or redis.call('HEXISTS', KEYS[1], f.k) == 1 then
      out[#out + 1] = 's'
    else
      local version = enqueue(KEYS[1], KEYS[3], KEYS[4], ARGV[1], f.k,
                              ARGV[2] .. ':' .. f.o .. ':' .. f.v)
      note_latest(KEYS[6], f.k, version)
      out[#out + 1] = 'r'
    end
    forget(KEYS[6], KEYS[7], f.k)
  end
end
return out
"""

# KEYS: dead, dead_latest, dead_count ; ARGV: id, id, ... ; Returns the number removed.
DROP = """
local n = 0
for i = 1, #ARGV do
  local found = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if #found > 0 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    forget(KEYS[2], KEYS[3], fields_of(found[1][2]).k)
    n = n + 1
  end
end
return n
"""
