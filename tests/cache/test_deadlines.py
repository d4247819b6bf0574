"""The guard's deadlines: one timer for every call in flight, asyncio.timeout's semantics."""

from __future__ import annotations

import asyncio

import pytest

from cachewright._deadlines import Deadlines


async def _forever() -> None:
    await asyncio.Event().wait()


async def _value(value: int) -> int:
    await asyncio.sleep(0)
    return value


async def test_a_call_past_its_deadline_raises_timeout_error() -> None:
    deadlines = Deadlines(tick=0.005)
    with pytest.raises(TimeoutError):
        await deadlines.run(0.02, _forever, ())
    await asyncio.sleep(0)  # no cancellation left behind on this task
    assert await deadlines.run(1.0, _value, (7,)) == 7


async def test_calls_in_time_are_untouched_and_forgotten() -> None:
    deadlines = Deadlines()
    results = await asyncio.gather(*(deadlines.run(5.0, _value, (i,)) for i in range(100)))
    assert results == list(range(100))


async def test_only_the_late_calls_expire() -> None:
    deadlines = Deadlines(tick=0.005)
    slow = asyncio.create_task(deadlines.run(0.02, _forever, ()))
    fast = [asyncio.create_task(deadlines.run(5.0, _value, (i,))) for i in range(10)]
    assert [await task for task in fast] == list(range(10))
    with pytest.raises(TimeoutError):
        await slow


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = Deadlines()
    task = asyncio.create_task(deadlines.run(5.0, _forever, ()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_outer_timeout_that_fires_first_is_the_outer_ones() -> None:
    deadlines = Deadlines(tick=0.005)
    outer = asyncio.timeout(0.02)
    with pytest.raises(TimeoutError):
        async with outer:
            await deadlines.run(5.0, _forever, ())
    assert outer.expired()


async def test_ours_inside_a_longer_outer_timeout() -> None:
    deadlines = Deadlines(tick=0.005)
    outer = asyncio.timeout(5.0)
    async with outer:
        with pytest.raises(TimeoutError):
            await deadlines.run(0.02, _forever, ())
        assert await _value(1) == 1  # the outer scope carries on
    assert not outer.expired()
