"""The shared loop under the sync API: who drives it, and that no call is ever stranded.

A calling thread drives the loop itself when nobody else does (no hand-off); work left
behind (background tasks, other threads' calls) is driven by the background thread;
a thread running its own event loop is served too; nothing waits forever, not even
after a driver was interrupted mid-call.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from cachewright.sync._shared_loop import SharedLoop
from tests._servers import wait_until


@pytest.fixture
def shared() -> Iterator[SharedLoop]:
    loop = SharedLoop()
    yield loop
    loop.stop(5)


async def _thread_name() -> str:
    return threading.current_thread().name


def test_an_idle_loop_is_driven_by_the_calling_thread(shared: SharedLoop) -> None:
    assert shared.call(_thread_name()) == threading.current_thread().name


def test_work_left_behind_is_driven_in_the_background(shared: SharedLoop) -> None:
    done = threading.Event()
    ran_in: list[str] = []

    async def start_background() -> None:
        async def later() -> None:
            await asyncio.sleep(0.05)
            ran_in.append(threading.current_thread().name)
            done.set()

        asyncio.get_running_loop().create_task(later())

    shared.call(start_background())

    assert done.wait(10)
    assert ran_in == ["cachewright-sync-loop"]
    # Once idle again, callers drive it themselves.
    wait_until(lambda: shared.call(_thread_name()) == threading.current_thread().name, timeout=10)


def test_a_thread_running_its_own_loop_is_served(shared: SharedLoop) -> None:
    async def inside_another_loop() -> str:
        return shared.call(_thread_name())  # blocks this loop: allowed, not advised

    assert asyncio.run(inside_another_loop()) == "cachewright-sync-loop"


def test_a_call_from_the_loop_itself_is_refused(shared: SharedLoop) -> None:
    async def reenter() -> None:
        shared.call(_thread_name())

    with pytest.raises(RuntimeError, match="its own engine loop"):
        shared.call(reenter())


def test_errors_come_back_as_they_were(shared: SharedLoop) -> None:
    failure = ValueError("as raised")

    async def fail() -> None:
        raise failure

    with pytest.raises(ValueError, match="as raised") as caught:
        shared.call(fail())
    assert caught.value is failure


def test_many_threads_never_strand_a_call(shared: SharedLoop) -> None:
    """Drivers come and go while followers hand calls over: every call returns."""

    async def work(n: int) -> int:
        for _ in range(random.randint(0, 3)):
            await asyncio.sleep(random.choice([0, 0, 0.001]))
        return n

    def hammer(t: int) -> list[int]:
        return [shared.call(work(t * 1000 + i)) for i in range(150)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(hammer, range(8)))

    assert results == [[t * 1000 + i for i in range(150)] for t in range(8)]


def test_a_call_left_by_an_interrupted_driver_stops_no_later_driver(shared: SharedLoop) -> None:
    """A driving call cut by a KeyboardInterrupt leaves its task on the loop; when that
    task ends later, under whichever thread drives then, it must not stop that loop."""

    async def interrupted() -> str:
        def interrupt() -> None:
            raise KeyboardInterrupt

        asyncio.get_running_loop().call_soon(interrupt)
        await asyncio.sleep(0.05)  # still pending when the interrupt leaves the loop
        return "left behind"

    async def outlives_it() -> str:
        await asyncio.sleep(0.2)
        return "answered"

    with pytest.raises(KeyboardInterrupt):
        shared.call(interrupted())
    results: list[str] = []
    caller = threading.Thread(target=lambda: results.append(shared.call(outlives_it())))
    caller.start()
    caller.join(10)  # a stranded call would block forever: fail instead
    assert not caller.is_alive()
    assert results == ["answered"]


def test_stop_refuses_later_calls(shared: SharedLoop) -> None:
    shared.stop(5)
    coro = _thread_name()
    with pytest.raises(RuntimeError, match="stopped"):
        shared.call(coro)
