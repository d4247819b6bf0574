"""RedisWriteQueue on big batches and crowds: framed script arguments, one-walk renewals,
puts that share a write, and a flush that claims ahead (issue 16).

Behaviour only, against a real Redis: what a queue hands out, keeps and acknowledges.
"""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel
from redis.asyncio import Redis

from cachewright import Cache, WriteBehind
from cachewright.errors import StoreUnavailable
from cachewright.patterns.write_behind.queues import SET, Batch, QueuedOp
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores import MemoryStore
from tests._servers import wait_until_async
from tests.patterns._write_support import FAST_RETRY, FaultyStore

pytestmark = pytest.mark.redis

# Keys the framing must carry whole: separators, multibyte text, digits, empty-ish.
ODD_KEYS = ["a:b", "1:2:3", "ключ", "🙂:x", "12", "x" * 300, ":", "5:abc", "a,b", ",", "3,"]


async def test_odd_keys_complete_and_release_whole(redis_url: str, namespace: str) -> None:
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=2) as queue:
        for key in ODD_KEYS:
            await queue.put(key, SET, key.encode(), 1.0)
        batch = await queue.claim(100, 0)
        assert sorted(op.key for op in batch.ops) == sorted(ODD_KEYS)
        assert all(op.value == op.key.encode() for op in batch.ops)
        assert await queue.confirm(batch, batch.ops) == list(batch.ops)

        kept, done = batch.ops[:3], batch.ops[3:]
        await queue.release(batch, kept)
        await queue.complete(batch, done)
        again = await queue.claim(100, 0)
        assert sorted(op.key for op in again.ops) == sorted(op.key for op in kept)
        await queue.complete(again, again.ops)
        stats = await queue.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)


async def test_a_renewal_keeps_every_entry_of_a_big_batch(redis_url: str, namespace: str) -> None:
    """More entries than one page of the renewal's XPENDING walk (1,000)."""
    async with RedisWriteQueue.from_url(
        redis_url, namespace=namespace, partitions=1, max_pending=10_000
    ) as queue:
        await queue.put("0", SET, b"v", 5.0)  # the first call checks the server, alone
        await asyncio.gather(*(queue.put(str(n), SET, b"v", 5.0) for n in range(1, 2_500)))
        batch = await queue.claim(2_500, 0)
        assert len(batch) == 2_500
        assert await queue.confirm(batch, batch.ops) == list(batch.ops)
        await queue.complete(batch, batch.ops)
        stats = await queue.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)


async def test_a_renewal_leaves_out_only_what_another_flusher_took(
    redis_url: str, namespace: str
) -> None:
    """One renewal over two batches of one flusher: the one it kept renewing stays its
    own, the one it let go idle was taken over and is left out."""
    async with (
        RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=60) as paused,
        RedisWriteQueue.from_url(redis_url, namespace=namespace, claim_idle=1.0) as rescuer,
    ):
        for n in range(40):
            await paused.put(str(n), SET, b"v", 1.0)
        idle = await paused.claim(10, 0)
        renewed = await paused.claim(30, 0)
        assert len(idle) + len(renewed) == 40
        taken: list[QueuedOp] = []

        async def took_the_idle_batch() -> bool:
            await paused.confirm(renewed, renewed.ops)  # keeps this batch fresh
            taken.extend((await rescuer.claim(40, 0.05)).ops)
            return len(taken) >= len(idle)

        await wait_until_async(took_the_idle_batch, timeout=20)
        assert {op.key for op in taken} == {op.key for op in idle.ops}
        both = [*idle.ops, *renewed.ops]
        assert await paused.confirm(Batch("both"), both) == list(renewed.ops)
        await rescuer.complete(Batch("b"), taken)
        await paused.complete(renewed, renewed.ops)
        stats = await paused.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)


async def test_concurrent_puts_each_run_once_and_the_latest_wins(
    redis_url: str, namespace: str
) -> None:
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace) as queue:
        await queue.put("k0", SET, b"first", 1.0)  # the first call checks the server, alone
        puts = [(f"k{n % 50}", b"%d" % n) for n in range(200)]
        versions = await asyncio.gather(*(queue.put(k, SET, v, 5.0) for k, v in puts))
        stats = await queue.stats()
        assert (stats.pending, stats.coalesced) == (50, 151), "each put ran exactly once"
        # Versions count per partition: the put that ran last for a key has the highest.
        latest: dict[str, tuple[int, bytes]] = {}
        for (key, value), version in zip(puts, versions, strict=True):
            if key not in latest or version > latest[key][0]:
                latest[key] = (version, value)
        batch = await queue.claim(100, 0)
        assert {op.key: (op.version, op.value) for op in batch.ops} == latest
        await queue.complete(batch, batch.ops)


async def test_a_put_after_the_server_forgot_its_scripts(redis_url: str, namespace: str) -> None:
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace) as queue:
        await queue.put("a", SET, b"1", 1.0)
        admin = Redis.from_url(redis_url)
        try:
            await admin.script_flush()
        finally:
            await admin.aclose()
        await asyncio.gather(queue.put("b", SET, b"2", 1.0), queue.put("c", SET, b"3", 1.0))
        assert (await queue.stats()).pending == 3
        batch = await queue.claim(10, 0)
        await queue.complete(batch, batch.ops)


async def test_a_big_completion_ends_each_key_once_and_requeues_newer_ops(
    redis_url: str, namespace: str
) -> None:
    """One complete over more keys than one bulk step (1,000), some written again while
    in flight, some ops given twice: each key ends once; a newer op stays pending with
    exactly one fresh entry."""
    async with RedisWriteQueue.from_url(
        redis_url, namespace=namespace, partitions=1, max_pending=10_000
    ) as queue:
        for start in range(0, 1_500, 100):
            await asyncio.gather(
                *(queue.put(str(n), SET, b"old", 1.0) for n in range(start, start + 100))
            )
        batch = await queue.claim(1_500, 0)
        assert len(batch) == 1_500
        newer = {op.key for op in batch.ops[::100]}
        for key in newer:
            await queue.put(key, SET, b"new", 1.0)
        await queue.complete(batch, [*batch.ops, *batch.ops[:10]])
        stats = await queue.stats()
        assert (stats.pending, stats.in_flight) == (len(newer), 0)
        admin = Redis.from_url(redis_url)
        try:
            assert await admin.xlen(queue.partitions[0].stream) == len(newer)
        finally:
            await admin.aclose()
        again = await queue.claim(2_000, 0)
        assert {(op.key, op.value) for op in again.ops} == {(key, b"new") for key in newer}
        await queue.complete(again, again.ops)
        stats = await queue.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)


async def test_the_stream_is_trimmed_only_below_what_is_unacknowledged(
    redis_url: str, namespace: str
) -> None:
    """Completing trims acknowledged entries, never one still held, released or not yet
    delivered; those behind an older held entry go once it ends (written, dead letter)."""
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=1) as queue:
        stream = queue.partitions[0].stream
        admin = Redis.from_url(redis_url)
        try:
            for key in "abcd":
                await queue.put(key, SET, key.encode(), 1.0)
            first = await queue.claim(1, 0)
            second = await queue.claim(2, 0)
            assert [op.key for op in (*first.ops, *second.ops)] == ["a", "b", "c"]
            await queue.complete(second, second.ops)  # behind "a", held: they stay
            await queue.release(first, first.ops)  # "a" is pending still
            assert await admin.xlen(stream) == 4
            again = await queue.claim(10, 0)
            assert [(op.key, op.value) for op in again.ops] == [("a", b"a"), ("d", b"d")]
            await queue.put("e", SET, b"e", 1.0)  # not delivered yet: kept
            await queue.dead_letter(again, again.ops[0], ValueError("poison"))
            assert await admin.xlen(stream) == 2  # "d" held, "e" undelivered
            await queue.complete(again, again.ops[1:])
            assert await admin.xlen(stream) == 1
            last = await queue.claim(10, 0)
            assert [(op.key, op.value) for op in last.ops] == [("e", b"e")]
            await queue.complete(last, last.ops)
            assert await admin.xlen(stream) == 0
        finally:
            await admin.aclose()
        stats = await queue.stats()
        assert (stats.pending, stats.in_flight, stats.dead_letters) == (0, 0, 1)


async def test_the_flight_scripts_after_the_server_forgot_them(
    redis_url: str, namespace: str
) -> None:
    """A batch held across SCRIPT FLUSH: its check (confirm) and its end (complete)
    meet NOSCRIPT, load their script again and still do their work."""
    async with RedisWriteQueue.from_url(redis_url, namespace=namespace, partitions=2) as queue:
        for key in ODD_KEYS:
            await queue.put(key, SET, b"v", 1.0)
        batch = await queue.claim(100, 0)
        assert await queue.confirm(batch, batch.ops) == list(batch.ops)
        await admin_flush(redis_url)
        assert await queue.confirm(batch, batch.ops) == list(batch.ops)
        await queue.complete(batch, batch.ops[:2])
        await admin_flush(redis_url)
        assert await queue.confirm(batch, batch.ops) == list(batch.ops[2:]), "ended: not held"
        await queue.complete(batch, batch.ops[2:])
        stats = await queue.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)


async def admin_flush(redis_url: str) -> None:
    admin = Redis.from_url(redis_url)
    try:
        await admin.script_flush()
    finally:
        await admin.aclose()


async def test_a_confirm_renews_entries_that_have_aged(redis_url: str, namespace: str) -> None:
    """A confirm checks every entry and resets the idle time of those held more than a
    moment (a batch confirmed right after its claim is only checked): an entry idle
    for a while is fresh again after it."""
    async with RedisWriteQueue.from_url(
        redis_url, namespace=namespace, partitions=1, claim_idle=60
    ) as queue:
        await queue.put("a", SET, b"v", 1.0)
        batch = await queue.claim(10, 0)
        stream = queue.partitions[0].stream
        admin = Redis.from_url(redis_url)
        idle: list[int] = []

        async def aged() -> bool:
            pending = await admin.xpending_range(stream, "flush", "-", "+", 10)
            idle[:] = [int(entry["time_since_delivered"]) for entry in pending]
            return idle[0] >= 1_000

        try:
            await wait_until_async(aged, timeout=20)
            assert await queue.confirm(batch, batch.ops) == list(batch.ops)
            pending = await admin.xpending_range(stream, "flush", "-", "+", 10)
            assert int(pending[0]["time_since_delivered"]) < idle[0]
        finally:
            await admin.aclose()
        await queue.complete(batch, batch.ops)


class Item(BaseModel):
    n: int


async def test_a_failed_flush_hands_back_the_batch_claimed_ahead(
    redis_url: str, namespace: str
) -> None:
    store = FaultyStore(MemoryStore[int, Item]())
    async with Cache.from_url(redis_url, namespace=namespace) as cache:
        items = WriteBehind(
            cache, store, key="item:{}", type=Item, flusher=False, batch_size=10, retry=FAST_RETRY
        )
        await items.set_many({n: Item(n=n) for n in range(50)})
        store.down = True
        with pytest.raises(StoreUnavailable):
            await items.flush()
        stats = await items.queue.stats()
        assert (stats.pending, stats.in_flight) == (50, 0), "nothing stays claimed"
        store.down = False
        report = await items.flush()
        assert report.written == 50
        await items.close()
    assert len(await store.inner.get_many(list(range(50)))) == 50
