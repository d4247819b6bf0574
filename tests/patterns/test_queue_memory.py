"""MemoryWriteQueue: the contract suite, a model-based property test, memory specifics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from cachewright.errors import QueueFull
from cachewright.patterns.write_behind.queues import (
    DELETE,
    SET,
    MemoryWriteQueue,
    OpKind,
    QueuedOp,
    WriteQueue,
)
from tests.patterns._queue_contract import QueueFactory, WriteQueueContract

T = TypeVar("T")


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


async def test_waiting_writers_get_room_in_arrival_order() -> None:
    queue = MemoryWriteQueue(max_pending=1)
    await queue.put("a", SET, b"x", 1.0)
    order: list[str] = []

    async def put(key: str) -> None:
        await queue.put(key, SET, b"x", 10.0)
        order.append(key)

    writers = [asyncio.create_task(put(key)) for key in "bcd"]
    for key in "abc":  # each round frees the one slot; the next waiter takes it
        await asyncio.sleep(0)
        batch = await queue.claim(1, 5.0)
        assert [op.key for op in batch.ops] == [key]
        await queue.complete(batch, batch.ops)
    await asyncio.wait_for(asyncio.gather(*writers), 5)
    assert order == ["b", "c", "d"]
    await queue.close()


async def test_a_put_that_times_out_passes_its_turn_on() -> None:
    queue = MemoryWriteQueue(max_pending=1)
    await queue.put("a", SET, b"x", 1.0)
    with pytest.raises(QueueFull):
        await queue.put("b", SET, b"x", 0)
    batch = await queue.claim(1, 0)
    await queue.complete(batch, batch.ops)
    await queue.put("c", SET, b"x", 0)  # no stale waiter blocks the freed slot
    assert len(queue) == 1
    await queue.close()


def test_rejects_malformed_ops() -> None:
    queue = MemoryWriteQueue()
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="needs a value"):
            loop.run_until_complete(queue.put("a", SET, None, 0))
        with pytest.raises(ValueError, match="no value"):
            loop.run_until_complete(queue.put("a", DELETE, b"x", 0))
        with pytest.raises(ValueError, match="max_pending"):
            MemoryWriteQueue(0)
    finally:
        loop.close()


# -- model-based property test ------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "d", "e"])
CAPACITY = 4


class QueueModel(RuleBasedStateMachine):
    """The queue against a plain model: pending dict, ready list, in-flight dict."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.queue = MemoryWriteQueue(max_pending=CAPACITY)
        self.pending: dict[str, tuple[OpKind, bytes | None, int]] = {}
        self.ready: list[str] = []
        self.flight: dict[str, QueuedOp] = {}
        self.latest: dict[str, int] = {}  # every key's latest accepted version
        self.dead: dict[str, tuple[str, OpKind, bytes | None, int]] = {}
        self.batch_of: dict[str, Any] = {}
        self.top_version = 0

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.queue.close())
        self.loop.close()

    @initialize()
    def start(self) -> None:
        assert len(self.queue) == 0

    @rule(key=KEYS, value=st.one_of(st.none(), st.binary(min_size=1, max_size=3)))
    def put(self, key: str, value: bytes | None) -> None:
        op: OpKind = DELETE if value is None else SET
        if key not in self.pending and len(self.pending) >= CAPACITY:
            with pytest.raises(QueueFull):
                self.run(self.queue.put(key, op, value, 0))
            return
        version = self.run(self.queue.put(key, op, value, 0))
        assert version > self.top_version
        self.top_version = version
        if key not in self.pending:
            self.ready.append(key)
        self.pending[key] = (op, value, version)
        self.latest[key] = version

    @rule(n=st.integers(1, 6))
    def claim(self, n: int) -> None:
        batch = self.run(self.queue.claim(n, 0))
        expected = self.ready[:n]
        assert [op.key for op in batch.ops] == expected
        for op in batch.ops:
            assert (op.op, op.value, op.version) == self.pending[op.key]
            assert op.key not in self.flight
            self.flight[op.key] = op
            self.batch_of[op.key] = batch
        self.ready = self.ready[n:]

    def _end(self, key: str) -> QueuedOp:
        op = self.flight.pop(key)
        if self.pending[key][2] == op.version:
            del self.pending[key]
        else:
            self.ready.append(key)
        return op

    @precondition(lambda self: bool(self.flight))
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        keys = data.draw(st.lists(st.sampled_from(sorted(self.flight)), unique=True, min_size=1))
        ops = [self.flight[key] for key in keys]
        for op in ops:
            self.run(self.queue.complete(self.batch_of[op.key], [op]))
            self._end(op.key)

    @precondition(lambda self: bool(self.flight))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        keys = data.draw(st.lists(st.sampled_from(sorted(self.flight)), unique=True, min_size=1))
        ops = [self.flight.pop(key) for key in keys]
        self.run(self.queue.release(self.batch_of[ops[0].key], ops))
        self.ready = [op.key for op in ops] + self.ready

    @precondition(lambda self: bool(self.flight))
    @rule(data=st.data())
    def dead_letter(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.flight)))
        op = self.flight[key]
        dead_id = self.run(self.queue.dead_letter(self.batch_of[key], op, ValueError("x")))
        self._end(key)
        self.dead[dead_id] = (key, op.op, op.value, op.version)

    @precondition(lambda self: bool(self.dead))
    @rule()
    def replay(self) -> None:
        ids = sorted(self.dead, key=int)
        result = self.run(self.queue.replay(ids))
        for dead_id in ids:
            key, op, value, version = self.dead.pop(dead_id)
            if self.latest[key] > version or key in self.pending:
                assert dead_id in result.superseded
                continue
            assert dead_id in result.requeued
            found = self.run(self.queue.peek(key))
            assert found is not None
            assert (found.op, found.value) == (op, value)
            self.ready.append(key)
            self.pending[key] = (op, value, found.version)
            self.latest[key] = self.top_version = found.version

    @invariant()
    def matches_model(self) -> None:
        found = self.run(self.queue.peek_many(["a", "b", "c", "d", "e"]))
        assert {k: (op.op, op.value, op.version) for k, op in found.items()} == self.pending
        stats = self.run(self.queue.stats())
        assert (stats.pending, stats.in_flight, stats.dead_letters) == (
            len(self.pending),
            len(self.flight),
            len(self.dead),
        )


QueueModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestQueueModel = QueueModel.TestCase


async def test_a_cancelled_waiter_passes_the_room_on() -> None:
    queue = MemoryWriteQueue(max_pending=1)
    await queue.put("a", SET, b"x", 1.0)
    first = asyncio.create_task(queue.put("b", SET, b"x", 10.0))
    second = asyncio.create_task(queue.put("c", SET, b"x", 10.0))
    await asyncio.sleep(0)
    batch = await queue.claim(1, 0)
    await queue.complete(batch, batch.ops)  # wakes `first`...
    first.cancel()  # ...which is cancelled before it can take the room
    await asyncio.wait_for(second, 5)
    assert await queue.peek("c") is not None
    assert first.cancelled()
    await queue.close()


async def test_two_claimers_share_the_work_without_returning_early() -> None:
    queue = MemoryWriteQueue()
    claimers = [asyncio.create_task(queue.claim(1, 10.0)) for _ in range(2)]
    await asyncio.sleep(0)
    await queue.put("a", SET, b"x", 1.0)
    await queue.put("b", SET, b"x", 1.0)
    batches = await asyncio.wait_for(asyncio.gather(*claimers), 5)
    assert sorted(op.key for batch in batches for op in batch.ops) == ["a", "b"]
    await queue.close()
