"""The ``WriteQueue`` contract suite: every queue implementation passes it.

Usage (an implementation's test file only supplies the factory)::

    class TestMemoryWriteQueue(WriteQueueContract):
        @pytest.fixture
        async def make_queue(self) -> AsyncIterator[QueueFactory]:
            queues: list[MemoryWriteQueue] = []

            async def make(max_pending: int = 100) -> WriteQueue:
                queues.append(MemoryWriteQueue(max_pending))
                return queues[-1]

            yield make
            for queue in queues:
                await queue.close()
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from cachewright.errors import QueueClosed, QueueFull
from cachewright.patterns.write_behind.queues import DELETE, SET, WriteQueue

__all__ = ["QueueFactory", "WriteQueueContract"]

QueueFactory = Callable[..., Awaitable[WriteQueue]]


class WriteQueueContract:
    """Tests of the protocol's documented semantics, implementation-agnostic."""

    async def test_put_coalesces_by_key_and_versions_grow(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        v1 = await queue.put("k", SET, b"1", 1.0)
        v2 = await queue.put("k", SET, b"2", 1.0)
        v3 = await queue.put("k", DELETE, None, 1.0)
        assert v1 < v2 < v3
        op = await queue.peek("k")
        assert op is not None
        assert (op.op, op.value, op.version) == (DELETE, None, v3)
        stats = await queue.stats()
        assert (stats.pending, stats.coalesced) == (1, 2)

    async def test_peek_many_returns_pending_only(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        await queue.put("a", SET, b"A", 1.0)
        await queue.put("b", DELETE, None, 1.0)
        found = await queue.peek_many(["a", "b", "c"])
        assert set(found) == {"a", "b"}
        assert found["a"].value == b"A"
        assert found["b"].op == DELETE
        assert await queue.peek("c") is None

    async def test_claim_is_fifo_and_latest_op_per_key(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        for key in "abc":
            await queue.put(key, SET, key.encode(), 1.0)
        await queue.put("a", SET, b"A2", 1.0)  # coalesced in place: keeps its turn
        batch = await queue.claim(2, 0)
        assert [(op.key, op.value) for op in batch.ops] == [("a", b"A2"), ("b", b"b")]
        rest = await queue.claim(10, 0)
        assert [op.key for op in rest.ops] == ["c"]
        assert not await queue.claim(10, 0)
        assert (await queue.stats()).in_flight == 3

    async def test_complete_removes_only_unchanged_versions(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        await queue.put("a", SET, b"1", 1.0)
        await queue.put("b", SET, b"1", 1.0)
        batch = await queue.claim(10, 0)
        newer = await queue.put("a", SET, b"2", 1.0)  # arrives while "a" is in flight
        assert not await queue.claim(10, 0), "a key is never in flight twice"
        peeked = await queue.peek("a")
        assert peeked is not None
        assert peeked.value == b"2"
        await queue.complete(batch, batch.ops)
        assert await queue.peek("b") is None
        again = await queue.claim(10, 0)
        assert [(op.key, op.value, op.version) for op in again.ops] == [("a", b"2", newer)]
        await queue.complete(again, again.ops)
        await queue.complete(again, again.ops)  # twice is harmless
        stats = await queue.stats()
        assert (stats.pending, stats.in_flight) == (0, 0)

    async def test_confirm_keeps_what_the_flusher_holds(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        for key in "abc":
            await queue.put(key, SET, b"x", 1.0)
        batch = await queue.claim(10, 0)
        assert await queue.confirm(batch, batch.ops) == list(batch.ops)
        await queue.complete(batch, batch.ops[:1])
        assert await queue.confirm(batch, batch.ops) == list(batch.ops[1:]), "ended: not held"
        await queue.complete(batch, batch.ops[1:])

    async def test_release_requeues_at_the_head(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        for key in "abcd":
            await queue.put(key, SET, b"x", 1.0)
        batch = await queue.claim(2, 0)
        await queue.release(batch, batch.ops)
        order = await queue.claim(10, 0)
        assert [op.key for op in order.ops] == ["a", "b", "c", "d"]
        assert order.ops[0].since == batch.ops[0].since

    async def test_full_queue_waits_for_room_then_accepts(self, make_queue: QueueFactory) -> None:
        queue = await make_queue(max_pending=2)
        await queue.put("a", SET, b"1", 1.0)
        await queue.put("b", SET, b"1", 1.0)
        await queue.put("a", SET, b"2", 0)  # a pending key coalesces even when full
        writer = asyncio.create_task(queue.put("c", SET, b"1", 10.0))
        await asyncio.sleep(0)
        assert not writer.done()
        batch = await queue.claim(1, 0)
        await queue.complete(batch, batch.ops)  # frees one slot
        await asyncio.wait_for(writer, 5)
        assert set(await queue.peek_many(["a", "b", "c"])) == {"b", "c"}

    async def test_full_queue_raises_after_timeout_and_drops_nothing(
        self, make_queue: QueueFactory
    ) -> None:
        queue = await make_queue(max_pending=2)
        await queue.put("a", SET, b"1", 1.0)
        await queue.put("b", SET, b"1", 1.0)
        started = time.monotonic()
        with pytest.raises(QueueFull):
            await queue.put("c", SET, b"1", 0.05)
        assert time.monotonic() - started >= 0.04
        assert await queue.peek("c") is None
        assert set(await queue.peek_many(["a", "b"])) == {"a", "b"}

    async def test_claim_waits_for_a_put(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        assert not await queue.claim(10, 0.01)  # nothing came: an empty batch
        claimer = asyncio.create_task(queue.claim(10, 10.0))
        await asyncio.sleep(0)
        await queue.put("a", SET, b"1", 1.0)
        batch = await asyncio.wait_for(claimer, 5)
        assert [op.key for op in batch.ops] == ["a"]

    async def test_dead_letter_and_replay(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        await queue.put("a", SET, b"bad", 1.0)
        await queue.put("b", SET, b"ok", 1.0)
        batch = await queue.claim(10, 0)
        dead_id = await queue.dead_letter(batch, batch.ops[0], ValueError("nope"))
        await queue.complete(batch, batch.ops[1:])
        assert await queue.peek("a") is None
        [dead] = await queue.dead_letters()
        assert (dead.id, dead.key, dead.value) == (dead_id, "a", b"bad")
        assert dead.error == "ValueError: nope"
        result = await queue.replay([dead_id, "no-such-id"])
        assert (result.requeued, result.missing) == ((dead_id,), ("no-such-id",))
        assert await queue.dead_letters() == []
        op = await queue.peek("a")
        assert op is not None
        assert op.value == b"bad"
        assert op.version > dead.version

    async def test_replay_never_overwrites_a_newer_write(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        await queue.put("a", SET, b"old", 1.0)
        batch = await queue.claim(10, 0)
        dead_id = await queue.dead_letter(batch, batch.ops[0], ValueError("nope"))
        await queue.put("a", SET, b"new", 1.0)
        flushed = await queue.claim(10, 0)
        await queue.complete(flushed, flushed.ops)  # the newer value reached the store
        result = await queue.replay([dead_id])
        assert result.superseded == (dead_id,)
        assert await queue.peek("a") is None
        assert await queue.dead_letters() == []

    async def test_dead_letter_of_a_superseded_op_keeps_the_newer(
        self, make_queue: QueueFactory
    ) -> None:
        queue = await make_queue()
        await queue.put("a", SET, b"old", 1.0)
        batch = await queue.claim(10, 0)
        await queue.put("a", SET, b"new", 1.0)
        dead_id = await queue.dead_letter(batch, batch.ops[0], ValueError("nope"))
        op = await queue.peek("a")
        assert op is not None
        assert op.value == b"new"
        assert (await queue.replay([dead_id])).superseded == (dead_id,)

    async def test_drop_dead_letters(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        await queue.put("a", SET, b"x", 1.0)
        batch = await queue.claim(10, 0)
        dead_id = await queue.dead_letter(batch, batch.ops[0], RuntimeError("x"))
        assert await queue.drop([dead_id, "missing"]) == 1
        assert (await queue.stats()).dead_letters == 0

    async def test_stats_age_the_oldest_pending_write(self, make_queue: QueueFactory) -> None:
        queue = await make_queue()
        assert (await queue.stats()).oldest_pending_age == 0.0
        await queue.put("a", SET, b"x", 1.0)
        op = await queue.peek("a")
        assert op is not None
        assert abs(op.since - time.time()) < 5
        assert 0.0 <= (await queue.stats()).oldest_pending_age < 5

    async def test_close_refuses_puts_and_wakes_waiters(self, make_queue: QueueFactory) -> None:
        queue = await make_queue(max_pending=1)
        await queue.put("a", SET, b"x", 1.0)
        waiter = asyncio.create_task(queue.put("b", SET, b"x", 10.0))
        await asyncio.sleep(0)
        await queue.close()
        with pytest.raises(QueueClosed):
            await asyncio.wait_for(waiter, 5)
        with pytest.raises(QueueClosed):
            await queue.put("c", SET, b"x", 1.0)
        await queue.close()  # idempotent
