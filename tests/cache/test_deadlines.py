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


async def test_a_nested_call_ending_later_is_ended_by_the_enclosing_one() -> None:
    """Not registered: the enclosing deadline fires, and the nested call sees its
    cancellation pass through, as it would if both were registered."""
    outer, inner = Deadlines(tick=0.005), Deadlines(tick=0.005)
    seen: list[BaseException] = []

    async def nested() -> None:
        try:
            await inner.run(5.0, _forever, ())
        except BaseException as exc:
            seen.append(exc)
            raise

    with pytest.raises(TimeoutError):
        await outer.run(0.02, nested, ())
    assert len(seen) == 1
    assert isinstance(seen[0], asyncio.CancelledError)
    assert await inner.run(1.0, _value, (3,)) == 3  # nothing left behind


async def test_a_nested_call_ending_sooner_keeps_its_own_deadline() -> None:
    outer, inner = Deadlines(tick=0.005), Deadlines(tick=0.005)

    async def nested() -> int:
        with pytest.raises(TimeoutError):
            await inner.run(0.02, _forever, ())
        return await _value(5)  # the enclosing call carries on

    assert await outer.run(5.0, nested, ()) == 5


async def test_a_task_started_inside_a_call_keeps_its_own_deadline() -> None:
    """It inherits the context, not the call: the enclosing call's cancellation never
    reaches it, so its own deadline must."""
    outer, inner = Deadlines(tick=0.005), Deadlines(tick=0.005)

    async def start() -> asyncio.Task[None]:
        return asyncio.create_task(inner.run(0.1, _forever, ()))

    child = await outer.run(0.02, start, ())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(child), 5.0)  # wait_for's would be a failure
    assert child.done()
    assert isinstance(child.exception(), TimeoutError)
