"""SharedRead: the callers of one key that arrive while its read is in flight share it.

The read is held open by a gate, so every step is driven by the test, not by timing.
"""

from __future__ import annotations

import asyncio

import pytest

from cachewright.patterns.aside._shared_read import SharedRead
from tests._servers import wait_until_async
from tests.patterns._aside_support import Gate


class Reads:
    """A read that counts its calls, held at a gate, answering ``value``."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = Gate()
        self.value = "v1"
        self.fail: Exception | None = None

    async def __call__(self) -> str:
        self.calls += 1
        await self.gate.pass_through()
        if self.fail is not None:
            raise self.fail
        return self.value


async def until_waiting(reads: SharedRead[str], key: str, count: int) -> None:
    async def waiting() -> int:
        return reads.waiting(key)

    await wait_until_async(waiting, expect=count, timeout=5)


async def test_callers_arriving_during_a_read_share_it() -> None:
    shared: SharedRead[str] = SharedRead()
    read = Reads()
    first = asyncio.create_task(shared.run("k", read))
    await read.gate.entered.wait()
    others = [asyncio.create_task(shared.run("k", read)) for _ in range(10)]
    await until_waiting(shared, "k", 10)
    read.gate.open()
    assert await first == ("v1", True)
    assert await asyncio.gather(*others) == [("v1", False)] * 10
    assert read.calls == 1
    assert shared.waiting("k") == -1  # nothing kept once the read ends
    assert await shared.run("k", read) == ("v1", True)  # the next call reads again
    assert read.calls == 2


async def test_a_cancelled_waiter_leaves_the_read_and_the_others_alone() -> None:
    shared: SharedRead[str] = SharedRead()
    read = Reads()
    first = asyncio.create_task(shared.run("k", read))
    await read.gate.entered.wait()
    quitter = asyncio.create_task(shared.run("k", read))
    stayer = asyncio.create_task(shared.run("k", read))
    await until_waiting(shared, "k", 2)
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    read.gate.open()
    assert await first == ("v1", True)
    assert await stayer == ("v1", False)
    assert read.calls == 1


async def test_when_the_reader_is_cancelled_its_waiters_read_for_themselves() -> None:
    shared: SharedRead[str] = SharedRead()
    read = Reads()
    first = asyncio.create_task(shared.run("k", read))
    await read.gate.entered.wait()
    others = [asyncio.create_task(shared.run("k", read)) for _ in range(5)]
    await until_waiting(shared, "k", 5)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    read.gate.open()  # the next read passes at once
    results = await asyncio.gather(*others)
    assert read.calls == 2  # one of the waiters read again, the others shared it
    assert sorted(own for _, own in results) == [False] * 4 + [True]
    assert all(value == "v1" for value, _ in results)


async def test_a_failure_reaches_the_waiters_of_that_moment_and_the_next_call_reads_again() -> None:
    shared: SharedRead[str] = SharedRead()
    read = Reads()
    read.fail = RuntimeError("read failed")
    first = asyncio.create_task(shared.run("k", read))
    await read.gate.entered.wait()
    others = [asyncio.create_task(shared.run("k", read)) for _ in range(3)]
    await until_waiting(shared, "k", 3)
    read.gate.open()
    outcomes = await asyncio.gather(first, *others, return_exceptions=True)
    assert all(outcome is read.fail for outcome in outcomes)
    assert read.calls == 1
    read.fail = None
    assert await shared.run("k", read) == ("v1", True)


async def test_callers_after_forget_read_afresh_while_earlier_waiters_keep_theirs() -> None:
    """After a write, a caller must not join a read that began before it."""
    shared: SharedRead[str] = SharedRead()
    old, new = Reads(), Reads()
    new.value = "v2"
    first = asyncio.create_task(shared.run("k", old))
    await old.gate.entered.wait()
    earlier = asyncio.create_task(shared.run("k", old))
    await until_waiting(shared, "k", 1)
    shared.forget("k")  # a write happened
    later = asyncio.create_task(shared.run("k", new))
    await new.gate.entered.wait()
    new.gate.open()
    assert await later == ("v2", True)
    old.gate.open()
    assert await first == ("v1", True)
    assert await earlier == ("v1", False)
    assert shared.waiting("k") == -1
