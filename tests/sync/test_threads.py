"""Many threads at once: one loader call for N threads missing one key, exact counters,
and errors that reach each thread unchanged."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cachewright import StoreUnavailable
from cachewright.sync import Cache, CacheAside, WriteThrough, cached
from cachewright.sync.stores import MemoryStore
from tests._servers import wait_until
from tests.stores._models import Profile, profile
from tests.sync._support import calls_waiting

THREADS = 24


def _all_at_once(fn: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    start = threading.Barrier(count)

    def run(n: int) -> Any:
        start.wait()
        return fn(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


class GatedLoader:
    """A loader that blocks until released, counting its calls and their threads."""

    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[str] = set()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, key: int) -> Profile:
        with self._lock:
            self.calls += 1
            self.threads.add(threading.current_thread().name)
        assert self.release.wait(30), "the test never released the loader"
        return profile(key)


def _release_when_all_wait(loader: GatedLoader, waiting: int) -> threading.Thread:
    def release() -> None:
        wait_until(lambda: loader.calls >= 1 and calls_waiting() >= waiting, timeout=30)
        loader.release.set()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_n_threads_missing_one_key_cost_one_loader_call(sync_cache: Cache) -> None:
    """G7 across threads: every thread's call joins the one load in flight."""
    loader = GatedLoader()
    users: CacheAside[int, Profile] = CacheAside(
        sync_cache, loader=loader, key="user:{}", type=Profile
    )
    releaser = _release_when_all_wait(loader, THREADS)

    results = _all_at_once(lambda _: users.get(7))

    releaser.join()
    assert loader.calls == 1
    assert results == [profile(7)] * THREADS
    assert loader.threads
    assert all(t.startswith("cachewright-sync-worker") for t in loader.threads)
    assert users.stats().loads == 1
    assert users.get(7) == profile(7)  # now a hit
    assert loader.calls == 1
    users.close()


def test_cached_function_runs_once_for_n_threads(sync_cache: Cache) -> None:
    loader = GatedLoader()

    @cached(sync_cache, ttl=60)
    def load(user_id: int) -> Profile:
        return loader(user_id)

    releaser = _release_when_all_wait(loader, THREADS)

    results = _all_at_once(lambda _: load(3))

    releaser.join()
    assert loader.calls == 1
    assert results == [profile(3)] * THREADS
    load.close()


def test_counters_from_many_threads_are_exact(sync_cache: Cache) -> None:
    _all_at_once(lambda _: [sync_cache.incr("hits") for _ in range(25)])

    assert sync_cache.incr("hits", 0) == THREADS * 25


def test_threads_reading_and_writing_their_own_keys(sync_cache: Cache) -> None:
    def work(n: int) -> list[bool]:
        seen = []
        for i in range(20):
            sync_cache.set(f"k{n}", i)
            seen.append(sync_cache.get(f"k{n}") == i)
        return seen

    assert all(all(seen) for seen in _all_at_once(work))


def test_a_loader_failure_reaches_every_waiting_thread_as_the_async_api_raises_it(
    sync_cache: Cache,
) -> None:
    failure = KeyError("no such user")
    gate = threading.Event()

    def load(key: int) -> Profile:
        gate.wait(30)
        raise failure

    users: CacheAside[int, Profile] = CacheAside(
        sync_cache, loader=load, key="user:{}", type=Profile
    )

    def get(_: int) -> BaseException | None:
        try:
            users.get(1)
        except KeyError as exc:
            return exc
        return None

    def release() -> None:
        wait_until(lambda: calls_waiting() >= 4, timeout=30)
        gate.set()

    releaser = threading.Thread(target=release)
    releaser.start()
    errors = _all_at_once(get, 4)
    releaser.join()

    assert all(e is failure for e in errors)  # the loader's own exception, in every thread
    users.close()


def test_cachewright_errors_of_a_store_pass_through_unchanged(sync_cache: Cache) -> None:
    failure = StoreUnavailable("database down")

    class Down:
        def get(self, key: int) -> Profile | None:
            raise failure

        def set(self, key: int, value: Profile) -> None:
            raise failure

        def delete(self, key: int) -> None:
            raise failure

    orders: WriteThrough[int, Profile] = WriteThrough(sync_cache, Down(), key="o:{}", type=Profile)

    with pytest.raises(StoreUnavailable) as caught:
        orders.set(1, profile(1))
    assert caught.value is failure
    assert sync_cache.get("o:1") is None  # G9: the cache is untouched


def test_sync_stores_serve_many_threads(sync_cache: Cache) -> None:
    store: MemoryStore[int, Profile] = MemoryStore()
    orders: WriteThrough[int, Profile] = WriteThrough(sync_cache, store, key="o:{}", type=Profile)

    _all_at_once(lambda n: orders.set(n, profile(n)))

    assert store.get_many(list(range(THREADS))) == {n: profile(n) for n in range(THREADS)}
    assert orders.get_many(list(range(THREADS))) == {n: profile(n) for n in range(THREADS)}
