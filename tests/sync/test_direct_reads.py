"""Direct reads: a sync ``Cache.get`` served in the calling thread on its own connection.

On a standalone Redis without a local tier, ``get`` reads in the calling thread and
decodes with the engine's read path (see ``cachewright.cache._direct``). These tests
show it is the same ``get``: counters exact across threads, corrupt entries read as
misses, sliding entries slide, stale entries and leases read as None, a frozen server
fails open once (the GET is not repeated), an open breaker keeps the thread off the
server, a forked child reads on a connection of its own, and ``close()`` (or the end
of a thread) closes the thread's connection. The server's CLIENT LIST shows which
connections exist: a direct connection's last command is ``get``; the engine's
connection, in these tests, last sent a ``set``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from cachewright import Cache as AsyncCache
from cachewright import Settings
from cachewright.cache.keys import KeyBuilder
from cachewright.sync import Cache
from tests._servers import RedisServer, wait_until
from tests._topology import frozen_node
from tests.stores._models import Profile, profile
from tests.sync.test_fork import _client_ids, _finish, _in_child, _read_all

pytestmark = pytest.mark.redis


def _getters(observer: redis.Redis) -> set[int]:
    """Connections (other than the observer) whose last command was a GET."""
    me = observer.client_id()
    return {
        int(c["id"]) for c in observer.client_list() if c["cmd"] == "get" and int(c["id"]) != me
    }


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A private redis-server of the test's own (frozen by some tests)."""
    own = RedisServer().start()
    try:
        yield own
    finally:
        own.cleanup()


def test_direct_hits_from_eight_threads_are_counted_exactly(redis_url: str, namespace: str) -> None:
    observer = redis.Redis.from_url(redis_url)
    with Cache.from_url(redis_url, settings=Settings(namespace=namespace)) as cache:
        cache.set("user", profile(1))
        before = cache.stats(server=False)
        reads, threads = 300, 8
        done = threading.Barrier(threads + 1, timeout=30)

        def read(_: int) -> int:
            got = sum(cache.get("user", Profile) == profile(1) for _ in range(reads))
            assert cache.get("absent", Profile) is None
            done.wait()  # every thread keeps its connection until they are counted
            done.wait()
            return got

        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = pool.map(read, range(threads))
            done.wait()
            assert len(_getters(observer)) >= threads  # one connection per thread
            done.wait()
            assert list(results) == [reads] * threads
        after = cache.stats(server=False)
    assert after.hits - before.hits == threads * reads
    assert after.misses - before.misses == threads
    observer.close()


def test_a_corrupt_entry_reads_as_a_miss(redis_url: str, namespace: str) -> None:
    observer = redis.Redis.from_url(redis_url)
    with Cache.from_url(redis_url, settings=Settings(namespace=namespace)) as cache:
        cache.set("user", profile(1))
        assert cache.get("user", Profile) == profile(1)
        observer.set(KeyBuilder(namespace).entry("user"), b"\x00not an entry")
        before = cache.stats(server=False)
        assert cache.get("user", Profile) is None
        after = cache.stats(server=False)
    assert (after.corrupt - before.corrupt, after.misses - before.misses) == (1, 1)
    assert after.hits == before.hits
    observer.close()


def test_a_sliding_entry_slides_on_a_sync_get(redis_url: str, namespace: str) -> None:
    observer = redis.Redis.from_url(redis_url)
    physical = KeyBuilder(namespace).entry("session")
    with Cache.from_url(redis_url, settings=Settings(namespace=namespace)) as cache:
        cache.set("session", "s", ttl=600, sliding=300)
        observer.pexpire(physical, 5_000)  # as if most of its window had gone by
        assert cache.get("session") == "s"
        assert observer.pttl(physical) > 200_000  # extended by the read (G4)
        assert cache.stats(server=False).hits == 1
    observer.close()


def test_a_stale_entry_reads_as_none_and_counts_a_stale_hit(redis_url: str, namespace: str) -> None:
    with Cache.from_url(redis_url, settings=Settings(namespace=namespace)) as cache:
        cache.set("user", profile(1), ttl=0.05, stale_ttl=600)

        def stale() -> bool:
            entry = cache.get_entry("user", Profile)
            return entry is not None and entry.stale

        wait_until(stale)
        before = cache.stats(server=False)
        assert cache.get("user", Profile) is None
        after = cache.stats(server=False)
        assert after.stale_hits - before.stale_hits == 1
        assert (after.hits, after.misses) == (before.hits, before.misses)
        assert cache.get_entry("user", Profile) is not None  # kept for stale serves


def test_a_lease_reads_as_a_miss(redis_url: str, namespace: str) -> None:
    async def lease() -> None:
        async with AsyncCache.from_url(redis_url, namespace=namespace) as engine:
            assert await engine.try_lease("user", 60) is not None

    with Cache.from_url(redis_url, settings=Settings(namespace=namespace)) as cache:
        cache.set("other", 1)  # the first call checks the server; direct reads follow
        asyncio.run(lease())
        before = cache.stats(server=False)
        assert cache.get("user", Profile) is None
        after = cache.stats(server=False)
    assert after.misses - before.misses == 1
    assert after.corrupt == before.corrupt


def test_a_frozen_server_fails_open_once_within_one_read_timeout(
    server: RedisServer, namespace: str
) -> None:
    timeout = 1.0
    settings = Settings(namespace=namespace, read_timeout=timeout, breaker_threshold=5)
    with Cache.from_url(server.url, settings=settings) as cache:
        cache.set("user", profile(1))
        assert cache.get("user", Profile) == profile(1)  # the direct connection is up
        with frozen_node(server):
            before = cache.stats(server=False)
            started = time.monotonic()
            assert cache.get("user", Profile) is None  # fail-open: a miss
            elapsed = time.monotonic() - started
            after = cache.stats(server=False)
        # One failed read, judged once by the engine (a repeated GET would count two
        # and wait twice); the breaker counted it but stays closed (threshold 5).
        assert (after.errors - before.errors, after.fail_open_reads - before.fail_open_reads) == (
            1,
            1,
        )
        assert after.misses - before.misses == 1
        assert after.circuit_state == "closed"
        assert elapsed < 1.8 * timeout  # one read timeout, not two (loose: behaviour)
        assert cache.get("user", Profile) == profile(1)  # back once the server is


def test_an_open_breaker_keeps_threads_off_the_server(server: RedisServer, namespace: str) -> None:
    settings = Settings(
        namespace=namespace, read_timeout=0.5, breaker_threshold=1, breaker_reset=120
    )
    observer = redis.Redis.from_url(server.url)
    with Cache.from_url(server.url, settings=settings) as cache:
        cache.set("user", profile(1))
        with frozen_node(server):
            assert cache.get("user", Profile) is None  # fails: the breaker opens
        assert cache.stats(server=False).circuit_state == "open"
        getters = _getters(observer)
        with ThreadPoolExecutor(max_workers=1) as pool:  # a thread with no connection yet
            assert pool.submit(cache.get, "user", Profile).result() is None  # refused
        assert cache.get("user", Profile) is None
        assert _getters(observer) <= getters  # no connection read the entry
        assert observer.exists(KeyBuilder(namespace).entry("user"))
    observer.close()


def test_a_forked_child_reads_on_a_connection_of_its_own(redis_url: str, namespace: str) -> None:
    observer = redis.Redis.from_url(redis_url)
    cache = Cache.from_url(redis_url, settings=Settings(namespace=namespace))
    cache.set("user", profile(1))
    assert cache.get("user", Profile) == profile(1)
    parent_getters = _getters(observer)
    parent_ids = _client_ids(observer)
    assert parent_getters  # the parent's direct connection

    def child() -> dict[str, object]:
        cache.set("from-child", 2)  # the child's engine checks its server
        hit = cache.get("user", Profile) == profile(1)
        cache.exists("from-child")  # the engine's connection: its last command not a GET
        return {"hit": hit}

    pid, report_fd, go = _in_child(child)
    report = _read_all(report_fd)
    child_getters = _getters(observer) - parent_ids
    code = _finish(pid, go)

    assert (code, report) == (0, {"hit": True})
    assert len(child_getters) == 1  # the child's own direct connection
    # The parent's direct connection was left alone and still serves its reads.
    assert cache.get("user", Profile) == profile(1)
    assert parent_getters <= _getters(observer)
    cache.clear()
    cache.close()
    observer.close()


def test_close_closes_every_threads_connection(redis_url: str, namespace: str) -> None:
    observer = redis.Redis.from_url(redis_url)
    cache = Cache.from_url(redis_url, settings=Settings(namespace=namespace))
    cache.set("user", profile(1))
    threads = 4
    read, release = threading.Barrier(threads + 1, timeout=30), threading.Event()

    def hold(_: int) -> None:
        assert cache.get("user", Profile) == profile(1)
        read.wait()
        release.wait(10)

    before = _getters(observer)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        waiting = list(map(pool.submit, [hold] * threads, range(threads)))
        read.wait()
        opened = _getters(observer) - before
        assert len(opened) >= threads
        cache.close()
        wait_until(lambda: not (opened & _client_ids(observer)))  # the server saw them go
        release.set()
        for future in waiting:
            future.result()
    observer.close()


def test_a_threads_connection_closes_when_the_thread_ends(redis_url: str, namespace: str) -> None:
    observer = redis.Redis.from_url(redis_url)
    with Cache.from_url(redis_url, settings=Settings(namespace=namespace)) as cache:
        cache.set("user", profile(1))
        before = _getters(observer)
        read, release = threading.Event(), threading.Event()

        def once() -> None:
            assert cache.get("user", Profile) == profile(1)
            read.set()
            release.wait(10)

        thread = threading.Thread(target=once)
        thread.start()
        read.wait(10)
        opened = _getters(observer) - before
        assert len(opened) == 1
        release.set()
        thread.join()
        wait_until(lambda: not (opened & _client_ids(observer)))
        assert cache.get("user", Profile) == profile(1)  # other threads read on
        assert cache.stats(server=False).hits == 2
    observer.close()
