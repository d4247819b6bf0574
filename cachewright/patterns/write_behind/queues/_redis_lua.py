"""The Lua scripts of the Redis write queue: each one is atomic on one partition.

Usage::

    scripts = Scripts(client)
    version = await scripts.put(keys=[p.ops, p.flight, p.stream, p.meta, p.dead_latest],
                                args=[key, b"s", value, now_ms, limit, GROUP])

Every script touches the keys of a single partition (one hash tag, one Cluster slot)
and takes user data only as ``ARGV`` values: nothing user-given is ever evaluated
(G13). Op format and keys: see :mod:`._partitions`. This module holds the functions
every script shares, the put and stats scripts, and :class:`Scripts`, which registers
them all; the scripts of a flight (claim, renew, complete, release) are in
:mod:`._redis_lua_flight`, those of dead letters in :mod:`._redis_lua_dead`.

Invariants the scripts keep, per partition:

- a key is pending iff it has a field in ``ops``, and then it has exactly one entry in
  the stream (undelivered, or delivered and not yet acknowledged);
- a key is in flight iff it has a field in ``flight`` naming the version and the entry
  a flusher holds; one entry per key means one flight per key, across all flushers;
- an entry is deleted only once acknowledged (``XACK``): one at a time (``XDEL``), or
  by trimming (``XTRIM MINID``) below the oldest entry still unacknowledged or
  undelivered, so nothing unacknowledged is ever trimmed.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

from cachewright.patterns.write_behind.queues._redis_lua_dead import (
    DEAD_LETTER,
    DROP,
    FORGET,
    REPLAY,
)
from cachewright.patterns.write_behind.queues._redis_lua_flight import (
    CLAIM,
    COMPLETE,
    REAP,
    RELEASE,
    TOUCH,
)

__all__ = ["Scripts"]

_COMMON = """
local function head(packed)
  local a = string.find(packed, ':', 1, true)
  local b = string.find(packed, ':', a + 1, true)
  return string.sub(packed, 1, a - 1), string.sub(packed, a + 1, b - 1), b
end

-- a list sent as one argument (see frame() in _partitions): '<byte length>:<bytes>'...
local function framed(s)
  local items, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    local n = tonumber(string.sub(s, pos, colon - 1))
    items[#items + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return items
end

-- keys sent as two arguments (see frame_keys() in _partitions): their byte lengths
-- joined by ',' and their bytes end to end
local function keyed(sizes, text)
  local items, pos = {}, 1
  for n in string.gmatch(sizes, '%d+') do
    local next_pos = pos + tonumber(n)
    items[#items + 1] = string.sub(text, pos, next_pos - 1)
    pos = next_pos
  end
  return items
end

-- a list of items without ',' (entry ids, versions) joined by ','
local function split(s)
  local items = {}
  for item in string.gmatch(s, '[^,]+') do
    items[#items + 1] = item
  end
  return items
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
-- meta: given when the ending flusher wrote its op to the store (COMPLETE does the
-- same for a whole batch, in bulk).
local function end_flight(ops, flight, stream, group, key, version, entry, meta)
  if redis.call('HGET', flight, key) ~= version .. ':' .. entry then
    -- Not ours any more: this flusher paused past claim_idle and another took the key
    -- over. Our write may have landed after the newer holder's, so a newer pending op
    -- gets a new version: whoever completes it then queues it again, and it is
    -- written once more, after ours.
    local current = meta and redis.call('HGET', ops, key)
    if current and tonumber(version_of(current)) > tonumber(version) then
      local colon = string.find(current, ':', 1, true)
      local fresh = redis.call('HINCRBY', meta, 'seq', 1)
      redis.call('HSET', ops, key, fresh .. string.sub(current, colon))
    end
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

-- Deletes the entries below the oldest one still unacknowledged or undelivered: all
-- of them are acknowledged (the queue adds with '*', so ids only grow). One trim per
-- call instead of an XDEL per entry, which seeks each one in its node: the costliest
-- command of a flush. An entry acknowledged above an older unacknowledged one stays
-- until that one ends (a stream holds at most what is pending plus what was ended
-- since its oldest pending entry was claimed).
local function trim(stream, group)
  local summary = redis.call('XPENDING', stream, group)
  if summary[1] > 0 then
    redis.call('XTRIM', stream, 'MINID', summary[2])
    return
  end
  local delivered = '0-0'
  for _, info in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local fields = {}
    for i = 1, #info, 2 do
      fields[info[i]] = info[i + 1]
    end
    if fields['name'] == group then
      delivered = fields['last-delivered-id']
    end
  end
  local undelivered = redis.call('XRANGE', stream, '(' .. delivered, '+', 'COUNT', 1)
  if undelivered[1] then
    redis.call('XTRIM', stream, 'MINID', undelivered[1][1])
  else
    redis.call('XTRIM', stream, 'MAXLEN', 0)
  end
end

-- acknowledge the entries of a batch that ended (in chunks: Lua's unpack has a stack
-- limit), then trim what is acknowledged
local function ack_all(stream, group, acks)
  for i = 1, #acks, 1000 do
    redis.call('XACK', stream, group, unpack(acks, i, math.min(i + 999, #acks)))
  end
  trim(stream, group)
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
  local own = redis.call('HLEN', KEYS[1])
  if own >= tonumber(ARGV[5]) then
    return -1
  end
  local queue_limit = tonumber(ARGV[7])
  if queue_limit > 0 then
    local total = own  -- this partition's is among KEYS[6..]: counted once
    for i = 6, #KEYS do
      if KEYS[i] ~= KEYS[1] then
        total = total + redis.call('HLEN', KEYS[i])
      end
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
        self.claim = register(CLAIM)
        self.complete = register(COMPLETE)
        self.release = register(RELEASE)
        self.dead_letter = register(DEAD_LETTER)
        self.replay = register(REPLAY, extra=FORGET)
        self.drop = register(DROP, extra=FORGET)
        self.stats = register(_STATS)
        self.touch = register(TOUCH)
        self.reap = register(REAP)
