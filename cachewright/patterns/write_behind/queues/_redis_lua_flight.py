"""The Lua scripts of a flight in the Redis write queue: claiming entries, renewing
the hold on them, ending them (complete, release) and forgetting idle consumers.

Usage (what :class:`._redis_lua.Scripts` registers, after the shared functions)::

    client.register_script(_COMMON + CLAIM)

Each script touches the keys of one partition only and keeps the invariants listed
in :mod:`._redis_lua`, which also holds the shared functions (``end_flight``, used by
the dead-letter script and done in bulk by ``COMPLETE``, among them).
"""

from __future__ import annotations

__all__ = ["CLAIM", "COMPLETE", "REAP", "RELEASE", "TOUCH"]

# KEYS: ops, flight, stream
# ARGV: group, consumer, count, released consumer, reclaim min idle ms, reclaim cursor
#       ('' to skip reclaiming this time)
# Returns {next reclaim cursor ('' if XAUTOCLAIM did not run this time: released ops
#          filled the count, or reclaiming was skipped), reclaimed count,
#          last id ('' unless nothing came), {entry, key, packed, entry, key, packed, ...}}
CLAIM = """
local group, consumer, want = ARGV[1], ARGV[2], tonumber(ARGV[3])
local entries, keys, reclaiming = {}, {}, {}
ensure_group(KEYS[3], group)

-- collected first, activated together at the end (one HMGET and one HSET per 1000)
local function collect(e, reclaimed)
  if not e or not e[2] then  -- an entry deleted while pending (never by this queue)
    return
  end
  entries[#entries + 1] = e[1]
  keys[#keys + 1] = e[2][2]
  reclaiming[#reclaiming + 1] = reclaimed
end

-- 1. ops handed back by release(): they keep their place, so they go first
local released = redis.call('XPENDING', KEYS[3], group, '-', '+', want, ARGV[4])
for _, pending in ipairs(released) do
  local claimed = redis.call('XCLAIM', KEYS[3], group, consumer, 0, pending[1])
  for _, e in ipairs(claimed) do
    collect(e, false)
  end
end

-- 2. entries a silent (crashed) flusher held longer than the min idle time
local cursor = ''
if ARGV[6] ~= '' and #entries < want then
  local r = redis.call('XAUTOCLAIM', KEYS[3], group, consumer, ARGV[5], ARGV[6],
                       'COUNT', want - #entries)
  cursor = r[1]
  for _, e in ipairs(r[2]) do
    collect(e, true)
  end
end

-- 3. new entries
if #entries < want then
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want - #entries,
                       'STREAMS', KEYS[3], '>')
  if r then
    for _, e in ipairs(r[1][2]) do
      collect(e, false)
    end
  end
end

-- each entry's key goes in flight, marked with the op's version and the entry
local out, reclaimed = {}, 0
for first = 1, #keys, 1000 do
  local last = math.min(first + 999, #keys)
  local currents = redis.call('HMGET', KEYS[1], unpack(keys, first, last))
  local marks = {}
  for i = first, last do
    local entry, key, current = entries[i], keys[i], currents[i - first + 1]
    if not current then  -- cannot happen while the invariants hold; never strand it
      redis.call('XACK', KEYS[3], group, entry)
      redis.call('XDEL', KEYS[3], entry)
    else
      marks[#marks + 1] = key
      marks[#marks + 1] = version_of(current) .. ':' .. entry
      out[#out + 1] = entry
      out[#out + 1] = key
      out[#out + 1] = current
      if reclaiming[i] then
        reclaimed = reclaimed + 1
      end
    end
  end
  if #marks > 0 then
    redis.call('HSET', KEYS[2], unpack(marks))
  end
end

local last = ''
if #out == 0 then
  local info = redis.call('XINFO', 'STREAM', KEYS[3])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      last = info[i + 1]
    end
  end
end
return {cursor, reclaimed, last, out}
"""

# KEYS: ops, flight, stream, meta
# ARGV: group, key sizes, keys (see keyed), versions (see split), entries (see split)
# Returns the number of keys that left the queue.
# end_flight for a whole batch, in bulk: one HMGET of the flight markers and one of
# the ops, one HDEL of each hash, one XACK and one XDEL (per 1000 keys), not four
# calls per key. The keys of one call are distinct (a key repeated is ended once), so
# reading every key before writing any reads what end_flight would.
COMPLETE = """
local keys, versions, entries = keyed(ARGV[2], ARGV[3]), split(ARGV[4]), split(ARGV[5])
local freed, acks, landed, left, seen = 0, {}, {}, {}, {}
for first = 1, #keys, 1000 do
  local last = math.min(first + 999, #keys)
  local markers = redis.call('HMGET', KEYS[2], unpack(keys, first, last))
  local currents = redis.call('HMGET', KEYS[1], unpack(keys, first, last))
  for i = first, last do
    local key, version, entry = keys[i], versions[i], entries[i]
    local marker, current = markers[i - first + 1], currents[i - first + 1]
    if seen[key] then  -- repeated in this call: ended already
    elseif marker ~= version .. ':' .. entry then
      -- not ours any more: as end_flight does, a newer pending op gets a new version
      if current and tonumber(version_of(current)) > tonumber(version) then
        local colon = string.find(current, ':', 1, true)
        local fresh = redis.call('HINCRBY', KEYS[4], 'seq', 1)
        redis.call('HSET', KEYS[1], key, fresh .. string.sub(current, colon))
      end
    else
      landed[#landed + 1] = key
      if current and version_of(current) == version then
        left[#left + 1] = key
      elseif current then
        redis.call('XADD', KEYS[3], '*', 'k', key)
      end
      acks[#acks + 1] = entry
    end
    seen[key] = true
  end
end
for i = 1, #landed, 1000 do
  redis.call('HDEL', KEYS[2], unpack(landed, i, math.min(i + 999, #landed)))
end
for i = 1, #left, 1000 do
  redis.call('HDEL', KEYS[1], unpack(left, i, math.min(i + 999, #left)))
end
ack_all(KEYS[3], ARGV[1], acks)
return #left
"""

# KEYS: ops, flight, stream (meta, unused)
# ARGV: group, released consumer, framed list (key, version, entry, since_ms, ...)
# The entry stays unacknowledged under the released consumer, keeping its id (place).
RELEASE = """
local n = 0
local items = framed(ARGV[3])
for i = 1, #items, 4 do
  local key, version, entry, since = items[i], items[i + 1], items[i + 2], items[i + 3]
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

# KEYS: stream ; ARGV: group, consumer, min idle ms, entries (see split)
# Resets the idle time of the entries this consumer still owns (a lease renewal), so
# a live flusher's work is not reclaimed; entries another flusher took are left alone.
# An owned entry idle less than the min idle time is left as it is: resetting it would
# gain less than that (and XCLAIM costs the server an AOF record per entry); a batch
# checked right after its claim is then only looked at.
# Returns the entries asked that this consumer does not own (usually none).
# One XPENDING walk over this consumer's entries between the lowest and the highest
# asked (pages of 1000) and one XCLAIM of those to renew, not two calls per entry.
TOUCH = """
local min_idle = tonumber(ARGV[3])
local list, asked, low, high = split(ARGV[4]), {}, nil, nil
for _, entry in ipairs(list) do
  asked[entry] = true
  local ms, seq = string.match(entry, '^(%d+)-(%d+)$')
  ms, seq = tonumber(ms), tonumber(seq)
  if not low or ms < low[1] or (ms == low[1] and seq < low[2]) then
    low = {ms, seq, entry}
  end
  if not high or ms > high[1] or (ms == high[1] and seq > high[2]) then
    high = {ms, seq, entry}
  end
end
if not low then
  return {}
end
local renew, from = {}, low[3]
while true do
  local page = redis.call('XPENDING', KEYS[1], ARGV[1], from, high[3], 1000, ARGV[2])
  for _, pending in ipairs(page) do
    if asked[pending[1]] then
      asked[pending[1]] = false  -- owned
      if pending[3] >= min_idle then
        renew[#renew + 1] = pending[1]
      end
    end
  end
  if #page < 1000 then
    break
  end
  from = '(' .. page[#page][1]
end
for i = 1, #renew, 1000 do
  local claim = {KEYS[1], ARGV[1], ARGV[2], 0}
  for j = i, math.min(i + 999, #renew) do
    claim[#claim + 1] = renew[j]
  end
  claim[#claim + 1] = 'JUSTID'
  redis.call('XCLAIM', unpack(claim))
end
local lost = {}
for _, entry in ipairs(list) do
  if asked[entry] then
    lost[#lost + 1] = entry
    asked[entry] = false  -- once, if asked twice
  end
end
return lost
"""

# KEYS: stream ; ARGV: group, min idle ms, consumer that must go if idle-free ('' none)
# Deletes consumers that hold nothing and were idle that long (crashed flushers leave
# their names behind). A consumer with pending entries is never deleted: DELCONSUMER
# would drop its entries from the group's pending list.
REAP = """
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
