"""The Lua scripts of the Redis write queue: each one is atomic on one partition.

Usage::

    scripts = Scripts(client)
    version = await scripts.put(keys=[p.ops, p.flight, p.stream, p.meta, p.dead_latest],
                                args=[key, b"s", value, now_ms, limit, GROUP])

Every script touches the keys of a single partition (one hash tag, one Cluster slot)
and takes user data only as ``ARGV`` values: nothing user-given is ever evaluated
(G13). Op format and keys: see :mod:`._partitions`.

Invariants the scripts keep, per partition:

- a key is pending iff it has a field in ``ops``, and then it has exactly one entry in
  the stream (undelivered, or delivered and not yet acknowledged);
- a key is in flight iff it has a field in ``flight`` naming the version and the entry
  a flusher holds; one entry per key means one flight per key, across all flushers;
- an entry is deleted (``XDEL``) only right after it is acknowledged (``XACK``), so
  nothing unacknowledged is ever trimmed.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

__all__ = ["Scripts"]

_COMMON = """
local function head(packed)
  local a = string.find(packed, ':', 1, true)
  local b = string.find(packed, ':', a + 1, true)
  return string.sub(packed, 1, a - 1), string.sub(packed, a + 1, b - 1), b
end

local function version_of(packed)
  return string.sub(packed, 1, string.find(packed, ':', 1, true) - 1)
end

local function ensure_group(stream, group)
  if redis.call('EXISTS', stream) == 0 then
    redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
  end
end

-- a new pending key: its op, then its one stream entry
local function enqueue(ops, stream, meta, group, key, packed_tail)
  local version = redis.call('HINCRBY', meta, 'seq', 1)
  redis.call('HSET', ops, key, version .. ':' .. packed_tail)
  ensure_group(stream, group)
  redis.call('XADD', stream, '*', 'k', key)
  return version
end

-- keys with dead letters remember their latest accepted version (replay checks it)
local function note_latest(dead_latest, key, version)
  if redis.call('HEXISTS', dead_latest, key) == 1 then
    redis.call('HSET', dead_latest, key, version)
  end
end

-- The flight of (key, version, entry) ends: the op is gone if nothing newer came,
-- else the newer op gets a fresh entry (claimable again). Returns 1 if the key left.
local function end_flight(ops, flight, stream, group, key, version, entry)
  if redis.call('HGET', flight, key) ~= version .. ':' .. entry then
    return 0
  end
  redis.call('HDEL', flight, key)
  local freed = 0
  local current = redis.call('HGET', ops, key)
  if current and version_of(current) == version then
    redis.call('HDEL', ops, key)
    freed = 1
  elseif current then
    redis.call('XADD', stream, '*', 'k', key)
  end
  redis.call('XACK', stream, group, entry)
  redis.call('XDEL', stream, entry)
  return freed
end
"""

# KEYS: ops, flight, stream, meta, dead_latest[, the ops hash of every partition]
# ARGV: key, op code, value, now_ms, partition limit, group, queue limit (0: none)
# Returns the new version, or -1 when the partition (or, given every partition's ops
# hash, the whole queue) is full and the key is not pending. Only a standalone server
# is given the other partitions' hashes: on Cluster they live on other nodes.
_PUT = """
local key = ARGV[1]
local current = redis.call('HGET', KEYS[1], key)
local version
if not current then
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then
    return -1
  end
  local queue_limit = tonumber(ARGV[7])
  if queue_limit > 0 then
    local total = 0
    for i = 6, #KEYS do
      total = total + redis.call('HLEN', KEYS[i])
    end
    if total >= queue_limit then
      return -1
    end
  end
  version = enqueue(KEYS[1], KEYS[3], KEYS[4], ARGV[6], key,
                    ARGV[4] .. ':' .. ARGV[2] .. ':' .. ARGV[3])
else
  version = redis.call('HINCRBY', KEYS[4], 'seq', 1)
  local current_version, since = head(current)
  local flight = redis.call('HGET', KEYS[2], key)
  if flight and version_of(flight) == current_version then
    -- the current op is being written: this one is a new unflushed write, aged from now
    since = ARGV[4]
  end
  redis.call('HSET', KEYS[1], key, version .. ':' .. since .. ':' .. ARGV[2] .. ':' .. ARGV[3])
  redis.call('HINCRBY', KEYS[4], 'coalesced', 1)
end
note_latest(KEYS[5], key, version)
return version
"""

# KEYS: ops, flight, stream
# ARGV: group, consumer, count, released consumer, reclaim min idle ms, reclaim cursor
#       ('' to skip reclaiming this time)
# Returns {next reclaim cursor, reclaimed count, last id ('' unless nothing came),
#          {entry, key, packed, entry, key, packed, ...}}
_CLAIM = """
local group, consumer, want = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out, taken, reclaimed = {}, 0, 0
ensure_group(KEYS[3], group)

local function activate(e)
  if not e or not e[2] then  -- an entry deleted while pending (never by this queue)
    return
  end
  local entry, key = e[1], e[2][2]
  local current = redis.call('HGET', KEYS[1], key)
  if not current then  -- cannot happen while the invariants hold; never strand it
    redis.call('XACK', KEYS[3], group, entry)
    redis.call('XDEL', KEYS[3], entry)
    return
  end
  redis.call('HSET', KEYS[2], key, version_of(current) .. ':' .. entry)
  out[#out + 1] = entry
  out[#out + 1] = key
  out[#out + 1] = current
  taken = taken + 1
end

-- 1. ops handed back by release(): they keep their place, so they go first
local released = redis.call('XPENDING', KEYS[3], group, '-', '+', want, ARGV[4])
for _, pending in ipairs(released) do
  local claimed = redis.call('XCLAIM', KEYS[3], group, consumer, 0, pending[1])
  for _, e in ipairs(claimed) do
    activate(e)
  end
end

-- 2. entries a silent (crashed) flusher held longer than the min idle time
local cursor = '0-0'
if ARGV[6] ~= '' and taken < want then
  local r = redis.call('XAUTOCLAIM', KEYS[3], group, consumer, ARGV[5], ARGV[6],
                       'COUNT', want - taken)
  cursor = r[1]
  local before = taken
  for _, e in ipairs(r[2]) do
    activate(e)
  end
  reclaimed = taken - before
end

-- 3. new entries
if taken < want then
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want - taken,
                       'STREAMS', KEYS[3], '>')
  if r then
    for _, e in ipairs(r[1][2]) do
      activate(e)
    end
  end
end

local last = ''
if taken == 0 then
  local info = redis.call('XINFO', 'STREAM', KEYS[3])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      last = info[i + 1]
    end
  end
end
return {cursor, reclaimed, last, out}
"""

# KEYS: ops, flight, stream ; ARGV: group, key, version, entry, key, version, entry, ...
# Returns the number of keys that left the queue.
_COMPLETE = """
local freed = 0
for i = 2, #ARGV, 3 do
  freed = freed + end_flight(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[i], ARGV[i + 1],
                             ARGV[i + 2])
end
return freed
"""

# KEYS: ops, flight, stream
# ARGV: group, released consumer, key, version, entry, since_ms, ...
# The entry stays unacknowledged under the released consumer, keeping its id (place).
_RELEASE = """
local n = 0
for i = 3, #ARGV, 4 do
  local key, version, entry, since = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if redis.call('HGET', KEYS[2], key) == version .. ':' .. entry then
    redis.call('HDEL', KEYS[2], key)
    local current = redis.call('HGET', KEYS[1], key)
    if current then
      local current_version, current_since, colon = head(current)
      if tonumber(current_since) > tonumber(since) then
        -- a newer op keeps the age of the unwritten one
        redis.call('HSET', KEYS[1], key,
                   current_version .. ':' .. since .. string.sub(current, colon))
      end
      redis.call('XCLAIM', KEYS[3], ARGV[1], ARGV[2], 0, entry, 'JUSTID')
    else
      redis.call('XACK', KEYS[3], ARGV[1], entry)
      redis.call('XDEL', KEYS[3], entry)
    end
    n = n + 1
  end
end
return n
"""

# KEYS: ops, flight, stream, dead, dead_latest, dead_count
# ARGV: group, key, version, entry, op code, value, error, now_ms
# Returns the dead letter's entry id.
_DEAD_LETTER = """
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
return id
"""

_FORGET = """
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
_REPLAY = """
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
_DROP = """
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

# KEYS: ops, flight, stream, meta, dead ; ARGV: sample size
# Returns {pending, in flight, dead letters, coalesced, oldest since_ms or ''}
_STATS = """
local oldest = ''
for _, e in ipairs(redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', ARGV[1])) do
  local current = redis.call('HGET', KEYS[1], e[2][2])
  if current then
    local _, since = head(current)
    if oldest == '' or tonumber(since) < tonumber(oldest) then
      oldest = since
    end
  end
end
return {redis.call('HLEN', KEYS[1]), redis.call('HLEN', KEYS[2]), redis.call('XLEN', KEYS[5]),
        tonumber(redis.call('HGET', KEYS[4], 'coalesced') or '0'), oldest}
"""

# KEYS: stream ; ARGV: group, consumer, entry, entry, ...
# Resets the idle time of the entries this consumer still owns (a lease renewal), so
# a live flusher's work is not reclaimed; entries another flusher took are left alone.
_TOUCH = """
local n = 0
for i = 3, #ARGV do
  if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2]) > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
"""

# KEYS: stream ; ARGV: group, min idle ms, consumer that must go if idle-free ('' none)
# Deletes consumers that hold nothing and were idle that long (crashed flushers leave
# their names behind). A consumer with pending entries is never deleted: DELCONSUMER
# would drop its entries from the group's pending list.
_REAP = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do
    info[c[i]] = c[i + 1]
  end
  if info.pending == 0 and (info.idle >= tonumber(ARGV[2]) or info.name == ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info.name)
    n = n + 1
  end
end
return n
"""


class Scripts:
    """The queue's scripts, registered on one client (EVALSHA, loaded on NOSCRIPT)."""

    __slots__ = (
        "claim",
        "complete",
        "dead_letter",
        "drop",
        "put",
        "reap",
        "release",
        "replay",
        "stats",
        "touch",
    )

    def __init__(self, client: Redis | RedisCluster) -> None:
        def register(body: str, *, extra: str = "") -> AsyncScript:
            return client.register_script(_COMMON + extra + body)

        self.put = register(_PUT)
        self.claim = register(_CLAIM)
        self.complete = register(_COMPLETE)
        self.release = register(_RELEASE)
        self.dead_letter = register(_DEAD_LETTER)
        self.replay = register(_REPLAY, extra=_FORGET)
        self.drop = register(_DROP, extra=_FORGET)
        self.stats = register(_STATS)
        self.touch = register(_TOUCH)
        self.reap = register(_REAP)
