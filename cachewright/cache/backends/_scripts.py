"""The Lua scripts of the Redis backend (run through :mod:`cachewright._redis.lua`).

Usage::

    result = await call(client, WRITE, keys, args)     # EVALSHA, or EVAL after NOSCRIPT

Scripts are constants: keys arrive only as KEYS, values only as ARGV, so no user
string is ever evaluated (G13). Times come from the server's own clock (``TIME``),
so tag scores and key expiries are on one clock with no client skew.
"""

from __future__ import annotations

from typing import Any

from cachewright._redis.lua import Script

__all__ = ["INDEX", "POP", "SET_TAGGED", "SET_TAGGED_MANY", "WRITE", "as_eval"]


# Shared helpers, pasted in front of the scripts that index tags.
_NOW = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

_SETTLE = """
-- Drop members past their deadline (so the index follows live entries) and let the
-- index itself live exactly as long as its longest-lived member.
local function settle(idx, now)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', string.format('%.0f', now))
  local last = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if #last == 0 then return end
  if last[2] == 'inf' then
    redis.call('PERSIST', idx)
  else
    redis.call('PEXPIREAT', idx, last[2])
  end
end
"""

_UPKEEP = """
local SLACK = 1000  -- ms an index may outlive its longest-lived member, at most
-- An index after the ZADDs of a write: they added grew members; left was its PTTL
-- before them (-2: no index yet, -1: no expiry); latest is the latest deadline written
-- (nil: a member has none). Trimmed only when it grew; its expiry moved only when a
-- new deadline passes it, with SLACK (see WRITE).
local function upkeep(idx, now, left, grew, latest)
  -- alone: the index holds nothing but what this call wrote
  local alone = left == -2
  if grew > 0 and not alone then
    redis.call('ZREMRANGEBYSCORE', idx, '-inf', string.format('%.0f', now))
    alone = redis.call('ZCARD', idx) == grew
  end
  if latest == nil then
    if left >= 0 then redis.call('PERSIST', idx) end
  elseif alone then
    redis.call('PEXPIREAT', idx, string.format('%.0f', latest))
  elseif left == -1 then
    settle(idx, now)
  elseif now + left < latest then
    local slack = math.min(SLACK, latest - now)
    redis.call('PEXPIREAT', idx, string.format('%.0f', latest + slack))
  end
end
"""

_PRELUDE = (
    _NOW
    + _SETTLE
    + _UPKEEP
    + """
-- Score of a member: its absolute deadline in server ms, '+inf' without expiry.
local function deadline(now, ttl)
  if ttl == '' then return '+inf' end
  return string.format('%.0f', now + tonumber(ttl))
end
"""
)

#: Write entries and index the written ones under tag keys, atomically (one node).
#: KEYS: n entry keys, then tag index keys.
#: ARGV: mode, prefix, n, then value and ttl ('' = no expiry) per entry.
#: mode: 'set' always writes; 'nx' only if absent; 'cas' only if the stored value
#: starts with prefix; 'touch' only re-times (PEXPIRE, or PERSIST for '') under the
#: same condition as 'cas'. An empty prefix only asks that the key exists.
#: 'fill' is 'cas' on one entry that then tells the processes waiting on the key
#: (see ``_fill_notices``): it PUBLISHes, on the channel in the ARGV after the
#: entry's ttl, the message head given next to it followed by 'v' and the value
#: when written and the next ARGV is '1' (the value travels with the notice), 'f'
#: when written without it, 'r' when refused (a newer write or delete won: re-read).
#: Returns the number of entries written.
#:
#: The bookkeeping of an index costs a PTTL and the ZADDs, no more, in the common
#: case (a key re-written with a ttl). Expired members are trimmed only when the
#: index grows (a ZADD added a member), so it never holds more than its live members
#: and the ones just added. Its expiry is pushed forward only when a new deadline
#: passes it, and then with some slack (SLACK, in ``upkeep``), so that a stream of writes does
#: not move it once per write: an index outlives its longest-lived member (never an
#: orphan, G3) by at most that slack (bounded, G3). An index that holds only what this
#: call wrote gets the exact deadline; one without expiry (a member has none) is
#: settled exactly.
WRITE = Script(
    "write",
    _PRELUDE
    + """
local mode, prefix, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local written = {}
for i = 1, n do
  local key, value, ttl = KEYS[i], ARGV[2 + 2 * i], ARGV[3 + 2 * i]
  local ok = true
  if mode == 'nx' then
    ok = redis.call('EXISTS', key) == 0
  elseif mode ~= 'set' then
    if #prefix == 0 then
      ok = redis.call('EXISTS', key) == 1
    else
      ok = redis.call('GETRANGE', key, 0, #prefix - 1) == prefix
    end
  end
  if ok then
    if mode == 'touch' then
      if ttl == '' then redis.call('PERSIST', key) else redis.call('PEXPIRE', key, ttl) end
    elseif ttl == '' then
      redis.call('SET', key, value)
    else
      redis.call('SET', key, value, 'PX', ttl)
    end
    written[#written + 1] = i
  end
end
if mode == 'fill' then
  local channel, head, attach = ARGV[4 + 2 * n], ARGV[5 + 2 * n], ARGV[6 + 2 * n]
  local body = 'r'
  if #written > 0 then
    if attach == '1' then body = 'v' .. ARGV[4] else body = 'f' end
  end
  redis.call('PUBLISH', channel, head .. body)
end
if #KEYS > n and #written > 0 then
  local now = now_ms()
  -- the latest deadline written; forever: one of them has no expiry
  local latest, forever = 0, false
  for _, i in ipairs(written) do
    local ttl = ARGV[3 + 2 * i]
    if ttl == '' then
      forever = true
    elseif now + tonumber(ttl) > latest then
      latest = now + tonumber(ttl)
    end
  end
  for j = n + 1, #KEYS do
    local idx = KEYS[j]
    local left = redis.call('PTTL', idx)  -- -2: no index yet, -1: no expiry
    local grew = 0
    for _, i in ipairs(written) do
      grew = grew + redis.call('ZADD', idx, deadline(now, ARGV[3 + 2 * i]), KEYS[i])
    end
    upkeep(idx, now, left, grew, (not forever) and latest or nil)
  end
end
return #written
""",
)

#: One entry with a ttl, written and indexed: the tagged ``set`` on one node, the
#: common case. The same writes and index upkeep as WRITE in mode 'set' for one entry
#: with a ttl, with less to carry and interpret: two arguments (WRITE takes five), no
#: loop over entries, scores passed as numbers. A re-write runs four commands (SET,
#: TIME, then PTTL and ZADD per index); trimming (on growth) and moving the index's
#: expiry (once a second at most, see SLACK) are rare. Its server time is about that
#: of those four commands inside any script, several times a plain SET's: the bound
#: on a tagged set against a plain one (``python -m benchmarks.profile tagged``).
#: KEYS: the entry, then tag index keys. ARGV: the value, the ttl in ms (not '').
#: Returns 1.
SET_TAGGED = Script(
    "set_tagged",
    _NOW
    + _SETTLE
    + _UPKEEP
    + """
local key, ttl = KEYS[1], tonumber(ARGV[2])
redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
local now = now_ms()
local due = now + ttl
for j = 2, #KEYS do
  local idx = KEYS[j]
  local left = redis.call('PTTL', idx)  -- -2: no index yet, -1: no expiry
  upkeep(idx, now, left, redis.call('ZADD', idx, due, key), due)
end
return 1
""",
)

#: Many tagged sets at once, each as SET_TAGGED would write it: the tagged ``set``'s
#: of concurrent callers, sent together (:mod:`._redis_tag_batch`). One TIME for the
#: batch; per index, one PTTL and one ZADD of every member the batch gives it, then
#: SET_TAGGED's upkeep (trim on growth, expiry moved only past the latest deadline,
#: with the same slack). Errors are the entry's own (``pcall``): an entry whose SET or
#: one of whose ZADDs failed is named in the reply, and the others stand.
#: KEYS: n entry keys, then index keys. ARGV: n; the ttl in ms shared by every entry,
#: or '' when each has its own; each entry's value, followed by its ttl when not
#: shared; then per index key (in KEYS order) how many entries it takes and their
#: numbers (1..n), or just 0 when it takes them all. What a batch shares (usually a
#: ttl and a tag set) is sent once: the server's time goes mostly to its arguments and
#: its commands.
#: Returns the numbers of the entries that failed (usually none).
SET_TAGGED_MANY = Script(
    "set_tagged_many",
    _NOW
    + _SETTLE
    + _UPKEEP
    + """
local n, shared = tonumber(ARGV[1]), ARGV[2]
local ok, ttls, failed, all = {}, {}, {}, {}
if shared == '' then
  for i = 1, n do
    local ttl = ARGV[2 + 2 * i]
    ok[i] = redis.pcall('SET', KEYS[i], ARGV[1 + 2 * i], 'PX', ttl).err == nil
    ttls[i] = ttl
  end
else
  for i = 1, n do
    ok[i] = redis.pcall('SET', KEYS[i], ARGV[2 + i], 'PX', shared).err == nil
    ttls[i] = shared
  end
end
local now = now_ms()  -- after the SETs: a score is never before its entry's deadline
-- The deadline of each ttl, as a number and as the score's text, worked out once per
-- ttl (a number handed to redis.call would be formatted again for every member).
local dues, scores = {}, {}
for _, ttl in pairs(ttls) do
  if not dues[ttl] then
    dues[ttl] = now + tonumber(ttl)
    scores[ttl] = string.format('%.0f', dues[ttl])
  end
end
local at = shared == '' and 2 * n + 3 or n + 3
for j = n + 1, #KEYS do
  local count = tonumber(ARGV[at])
  local takers = all
  if count == 0 then
    if #all == 0 then for i = 1, n do all[i] = i end end
  else
    takers = {}
    for t = 1, count do takers[t] = tonumber(ARGV[at + t]) end
  end
  at = at + count + 1
  local members, latest = {}, 0
  for _, i in ipairs(takers) do
    if ok[i] then
      local ttl = ttls[i]
      members[#members + 1] = scores[ttl]
      members[#members + 1] = KEYS[i]
      if dues[ttl] > latest then latest = dues[ttl] end
    end
  end
  if #members > 0 then
    local idx = KEYS[j]
    local left = redis.call('PTTL', idx)  -- -2: no index yet, -1: no expiry
    local grew = redis.pcall('ZADD', idx, unpack(members))
    if type(grew) == 'table' then  -- not a sorted set: each of its entries failed
      for _, i in ipairs(takers) do failed[#failed + 1] = i end
    else
      upkeep(idx, now, left, grew, latest)
    end
  end
end
for i = 1, n do
  if not ok[i] then failed[#failed + 1] = i end
end
return failed
""",
)

#: Index members under one tag key (Cluster: the index lives on its own node).
#: KEYS: the tag index. ARGV: member and ttl ('' = no expiry) pairs.
#: GT keeps the later deadline when two writers of one key race across nodes, so
#: a member never leaves the index before the entry it stands for.
INDEX = Script(
    "index",
    _PRELUDE
    + """
local now = now_ms()
for i = 1, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'GT', deadline(now, ARGV[i + 1]), ARGV[i])
end
settle(KEYS[1], now)
return 1
""",
)

#: Take every member of the tag indexes and delete the indexes, atomically.
#: KEYS: tag indexes (one slot on Cluster). Returns the members.
POP = Script(
    "pop",
    """
local out = {}
for i = 1, #KEYS do
  for _, member in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
    out[#out + 1] = member
  end
  redis.call('DEL', KEYS[i])
end
return out
""",
)

_BY_SHA = {script.sha: script for script in (WRITE, SET_TAGGED, SET_TAGGED_MANY, INDEX, POP)}


def as_eval(command: tuple[Any, ...]) -> tuple[Any, ...]:
    """The EVAL form of a queued ``("EVALSHA", sha, numkeys, ...)`` command."""
    return ("EVAL", _BY_SHA[command[1]].source, *command[2:])
