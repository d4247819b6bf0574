"""Tagged sets on one node: alone, one SET_TAGGED; issued together, one SET_TAGGED_MANY.

Usage (what :class:`~cachewright.cache.backends._redis_standalone.Standalone` does)::

    tagged = TaggedSets(lane)
    await tagged.set("shop:a", b"..", 60_000, ["shop~tag:letters"])   # acknowledged by Redis
    await tagged.drain()                                               # before closing the lane

A tagged set's time is mostly the server's: a script call, the TIME of its deadlines,
and a PTTL and a ZADD per tag index, several times a plain SET
(``python -m benchmarks.profile tagged``). Concurrent callers share that work: a set
issued while another tagged set of this backend is in flight is queued, and every set
queued in the same turn of the event loop leaves as one script call, with one TIME,
and per index one PTTL and one ZADD of all its members. No timer: a lone caller (nothing
of ours in flight) sends its own SET_TAGGED at once, as before, and a queued batch goes
on the next turn of the loop, through the lane, pipelined with whatever else is in
flight (that turn can make it miss a lane request that a set queued in the lane itself
would have caught: one round trip more, at worst, in exchange for one script call).

Each caller still awaits its own answer, given only once Redis answered for its entry:

- the entries of a batch are written as SET_TAGGED writes one (the script runs each
  command with ``pcall``), so an error is the entry's own: an entry the script names
  as failed (its SET, or the ZADD of one of its indexes, answered an error), or every
  entry of a batch the server refused as a whole (a script error, a permission), is
  sent again alone, and its caller gets exactly what a lone set answers: success, or
  the typed error it would have had;
- a lost connection or a timeout fails the whole request, as for commands pipelined
  by the lane: every caller of it gets that error (the outcome is unknown, as alone);
- a caller cancelled before its batch leaves is dropped from it; one cancelled after
  leaves its entry to be written, as a cancelled lone set may be. The batch runs in a
  task of its own, so no caller's cancellation reaches the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from redis.exceptions import NoScriptError, ResponseError

from cachewright._redis.futures import fail
from cachewright._redis.lua import call
from cachewright.cache.backends._scripts import SET_TAGGED, SET_TAGGED_MANY

if TYPE_CHECKING:
    from redis.typing import EncodableT

    from cachewright._redis.lane import Lane

__all__ = ["BATCH", "BATCH_BYTES", "TaggedSets"]

#: entries of one script call at most; more queued leave in further calls, together
BATCH = 128

#: bytes of values past which a script call takes no more entries: a script holds the
#: server for its whole run, so large values go a few at a time
BATCH_BYTES = 256 * 1024

#: a queued set: key, value, ttl in ms, index keys, and its caller's future
_Entry = tuple[str, bytes, int, Sequence[str], "asyncio.Future[None]"]


class TaggedSets:
    """The tagged sets (with a ttl) of one standalone backend, batched when concurrent."""

    __slots__ = ("_busy", "_lane", "_queue", "_tasks")

    def __init__(self, lane: Lane) -> None:
        self._lane = lane
        self._busy = 0  # requests of ours in flight (lone sets and batches)
        self._queue: list[_Entry] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def set(self, key: str, value: bytes, ttl_ms: int, tags: Sequence[str]) -> None:
        """Write ``key`` and index it under ``tags``; returns once Redis answered for it."""
        if not self._busy and not self._queue:
            # Alone: SET_TAGGED at once, in the caller's task (what _alone does, inlined:
            # this is every sequential caller's path).
            self._busy += 1
            try:
                await self._lane.command(
                    "EVALSHA", SET_TAGGED.sha, 1 + len(tags), key, *tags, value, ttl_ms
                )
            except NoScriptError:
                await self._alone(key, value, ttl_ms, tags)  # EVALSHA again, then EVAL
            finally:
                self._busy -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self._queue:
            self._start()
        self._queue.append((key, value, ttl_ms, tags, future))
        await future

    async def drain(self) -> None:
        """Wait until every queued set has been answered."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    # -- sending ---------------------------------------------------------------------

    def _start(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        """Send what queued until now (up to BATCH entries or BATCH_BYTES of values;
        the rest goes in another call)."""
        queue, entries, size, taken = self._queue, [], 0, 0
        for entry in queue:
            if taken == BATCH or size >= BATCH_BYTES:
                break
            taken += 1
            if not entry[4].done():  # a caller cancelled while queued: dropped
                entries.append(entry)
                size += len(entry[1])
        del queue[:taken]
        if self._queue:
            self._start()
        if not entries:
            return
        self._busy += 1
        try:
            if len(entries) == 1:
                await self._answer_alone(entries[0])
            else:
                await self._many(entries)
        finally:
            self._busy -= 1

    async def _many(self, entries: list[_Entry]) -> None:
        keys, args = _command(entries)
        try:
            failed = await call(self._lane, SET_TAGGED_MANY, keys, args)
        except ResponseError:
            # Refused as a whole (the script did not run, or stopped): each on its own,
            # so that each caller gets its own answer.
            await self._each_alone(entries)
            return
        except BaseException as exc:
            fail([entry[4] for entry in entries], exc)
            if not isinstance(exc, Exception):
                raise
            return
        again = set(failed)
        for number, entry in enumerate(entries, 1):
            if number not in again and not entry[4].done():
                entry[4].set_result(None)
        if again:
            await self._each_alone([entries[number - 1] for number in sorted(again)])

    async def _each_alone(self, entries: list[_Entry]) -> None:
        await asyncio.gather(*(self._answer_alone(entry) for entry in entries))

    async def _answer_alone(self, entry: _Entry) -> None:
        key, value, ttl_ms, tags, future = entry
        try:
            await self._alone(key, value, ttl_ms, tags)
        except BaseException as exc:
            fail([entry[4]], exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if not future.done():
                future.set_result(None)

    async def _alone(self, key: str, value: bytes, ttl_ms: int, tags: Sequence[str]) -> None:
        lane = self._lane
        try:
            await lane.command("EVALSHA", SET_TAGGED.sha, 1 + len(tags), key, *tags, value, ttl_ms)
        except NoScriptError:
            # A restarted or failed-over server: EVAL runs the script and caches it again.
            await lane.command("EVAL", SET_TAGGED.source, 1 + len(tags), key, *tags, value, ttl_ms)


def _command(entries: Sequence[_Entry]) -> tuple[list[EncodableT], list[EncodableT]]:
    """KEYS and ARGV of SET_TAGGED_MANY for ``entries``: a ttl or a tag set every entry
    shares is sent once."""
    keys: list[EncodableT] = [entry[0] for entry in entries]
    ttl = entries[0][2]
    args: list[EncodableT] = [len(entries)]
    if all(entry[2] == ttl for entry in entries):
        args.append(ttl)
        args.extend([entry[1] for entry in entries])
    else:
        args.append("")
        for entry in entries:
            args.append(entry[1])
            args.append(entry[2])
    tags = entries[0][3]
    if all(entry[3] == tags for entry in entries):
        for tag in dict.fromkeys(tags):
            keys.append(tag)
            args.append(0)  # every entry
        return keys, args
    takers: dict[str, list[int]] = {}
    for number, entry in enumerate(entries, 1):
        for tag in entry[3]:
            found = takers.get(tag)
            if found is None:
                takers[tag] = [number]
            else:
                found.append(number)
    for tag, numbers in takers.items():
        keys.append(tag)
        args.append(len(numbers))
        args.extend(numbers)
    return keys, args
