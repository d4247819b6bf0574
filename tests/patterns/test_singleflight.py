"""SingleFlight: one execution per key; each caller waits on a future of its own."""

from __future__ import annotations

import asyncio

import pytest

from cachewright.patterns.aside._singleflight import SingleFlight
from tests._servers import wait_until_async


async def waiting(flights: SingleFlight[list[int]], key: str) -> int:
    return flights.waiting(key)


class Gated:
    """An execution that waits for ``release`` and counts its runs."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.runs = 0
        self.fail: Exception | None = None

    async def __call__(self) -> list[int]:
        self.runs += 1
        self.entered.set()
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return [self.runs]


async def test_concurrent_callers_share_one_execution_and_its_result_object() -> None:
    flights: SingleFlight[list[int]] = SingleFlight()
    run = Gated()
    callers = [asyncio.create_task(flights.run("k", run)) for _ in range(20)]
    await run.entered.wait()
    assert flights.running("k")
    await wait_until_async(lambda: waiting(flights, "k"), expect=20)
    run.release.set()
    got = await asyncio.gather(*callers)
    assert run.runs == 1
    assert all(one is got[0] for one in got)
    assert not flights.running("k")  # the slot is released when the execution ends
    assert flights.waiting("k") == -1


async def test_a_cancelled_follower_leaves_the_execution_and_the_others_alone() -> None:
    flights: SingleFlight[list[int]] = SingleFlight()
    run = Gated()
    starter = asyncio.create_task(flights.run("k", run))
    await run.entered.wait()
    follower = asyncio.create_task(flights.run("k", run))
    other = asyncio.create_task(flights.run("k", run))
    await wait_until_async(lambda: waiting(flights, "k"), expect=3)
    follower.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower
    run.release.set()
    assert await starter == [1]
    assert await other == [1]
    assert run.runs == 1


async def test_a_failure_reaches_every_caller_waiting_and_the_next_call_runs_again() -> None:
    flights: SingleFlight[list[int]] = SingleFlight()
    run = Gated()
    run.fail = LookupError("source down")
    callers = [asyncio.create_task(flights.run("k", run)) for _ in range(3)]
    await run.entered.wait()
    run.release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(result is run.fail for result in results)
    run.fail = None
    assert await flights.run("k", run) == [2]


async def test_an_execution_cancelled_from_inside_cancels_its_callers() -> None:
    flights: SingleFlight[int] = SingleFlight()

    async def cancelled() -> int:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await flights.run("k", cancelled)
    assert not flights.running("k")


async def test_callers_after_forget_start_afresh_while_earlier_ones_keep_theirs() -> None:
    flights: SingleFlight[list[int]] = SingleFlight()
    first, second = Gated(), Gated()
    early = asyncio.create_task(flights.run("k", first))
    await first.entered.wait()
    flights.forget("k")
    late = asyncio.create_task(flights.run("k", second))
    await second.entered.wait()
    second.release.set()
    first.release.set()
    assert await early == [1]
    assert await late == [1]
    assert (first.runs, second.runs) == (1, 1)
    await flights.close()
