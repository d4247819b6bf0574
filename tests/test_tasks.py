"""Stopping background tasks (``cachewright._tasks.cancel_and_wait``): the task's own
cancellation is absorbed, the caller's is never swallowed (issue 17: a hang that
ignored cancellation put every ``task.cancel()`` + ``suppress(CancelledError)`` under
suspicion). No sleeps: events say when each side is where the test needs it."""

from __future__ import annotations

import asyncio

import pytest

from cachewright._tasks import cancel_and_wait
from cachewright.patterns.write_behind.queues._leases import Leases


class SlowToUnwind:
    """A task that, once cancelled, waits for ``release`` before it ends (a socket
    being closed, a connection handed back)."""

    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.unwinding = asyncio.Event()
        self.release = asyncio.Event()

    async def run(self, *_: object) -> None:
        self.running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.unwinding.set()
            await self.release.wait()
            raise


async def test_the_tasks_cancellation_is_absorbed() -> None:
    slow = SlowToUnwind()
    slow.release.set()
    task = asyncio.create_task(slow.run())
    await slow.running.wait()
    await cancel_and_wait(task)
    assert task.cancelled()


async def test_a_caller_cancelled_while_waiting_is_cancelled() -> None:
    slow = SlowToUnwind()
    task = asyncio.create_task(slow.run())
    await slow.running.wait()
    caller = asyncio.create_task(cancel_and_wait(task))
    await slow.unwinding.wait()  # the caller now waits for the task to end
    caller.cancel()
    slow.release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert task.done()


async def test_a_caller_already_being_cancelled_finishes_its_cleanup() -> None:
    slow = SlowToUnwind()
    slow.release.set()
    task = asyncio.create_task(slow.run())
    waiting, cleaned = asyncio.Event(), asyncio.Event()

    async def owner() -> None:
        try:
            waiting.set()
            await asyncio.Event().wait()
        finally:  # cleanup while this task is being cancelled: it must run to the end
            await cancel_and_wait(task)
            cleaned.set()

    running = asyncio.create_task(owner())
    await slow.running.wait()
    await waiting.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert cleaned.is_set()
    assert task.cancelled()


async def test_leases_stop_keeps_the_callers_cancellation() -> None:
    """The write queue's lease renewals, stopped by ``close()``: a close that is
    itself cancelled (a timeout around it) is cancelled, not carried on."""
    slow = SlowToUnwind()
    leases = Leases(slow.run, interval=0.0)
    leases.hold(0, ["1-0"])
    await slow.running.wait()  # a renewal under way
    closer = asyncio.create_task(leases.stop())
    await slow.unwinding.wait()
    closer.cancel()
    slow.release.set()
    with pytest.raises(asyncio.CancelledError):
        await closer
