"""Fork safety: a child never reuses its parent's loop or connections.

The parent uses a sync cache on a private Redis, forks, and the child uses the same
objects. The server's CLIENT LIST shows the child on connections of its own while the
parent's stay open and untouched, and both processes keep working afterwards.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable

import pytest
import redis

from cachewright import Settings
from cachewright.sync import Cache, CacheAside, WriteBehind
from cachewright.sync.stores import MemoryStore
from tests.stores._models import Profile, profile

pytestmark = pytest.mark.redis


def _client_ids(observer: redis.Redis) -> set[int]:
    me = observer.client_id()
    return {int(c["id"]) for c in observer.client_list() if int(c["id"]) != me}


def _in_child(work: Callable[[], dict[str, object]]) -> tuple[int, int, int]:
    """Fork; the child runs ``work`` and reports JSON on a pipe, then waits for the
    parent's go-ahead before exiting (so its connections are seen while it lives).
    Returns (pid, fd to read the report, fd to release the child)."""
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(report_r)
            os.close(go_w)
            result = work()
            os.write(report_w, json.dumps(result).encode())
            os.close(report_w)
            os.read(go_r, 1)
            code = 0
        finally:
            os._exit(code)
    os.close(report_w)
    os.close(go_r)
    return pid, report_r, go_w


def _read_all(fd: int) -> dict[str, object]:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    report: dict[str, object] = json.loads(b"".join(chunks) or b"{}")
    return report


def _finish(pid: int, go: int) -> int:
    os.write(go, b"x")
    os.close(go)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_child_builds_its_own_connections_and_parent_keeps_its_own(
    redis_url: str, namespace: str
) -> None:
    observer = redis.Redis.from_url(redis_url)
    cache = Cache.from_url(redis_url, settings=Settings(namespace=namespace))
    users: CacheAside[int, Profile] = CacheAside(cache, loader=profile, key="user:{}", type=Profile)
    cache.set("from-parent", 1)
    assert users.get(1) == profile(1)
    parent_ids = _client_ids(observer)
    assert parent_ids  # the parent's cache holds connections

    def child() -> dict[str, object]:
        cache.set("from-child", 2)
        return {
            "parent_value": cache.get("from-parent"),
            "child_value": cache.get("from-child"),
            "loaded": users.get(2) == profile(2),
            "hit": users.get(1) == profile(1),
        }

    pid, report_fd, go = _in_child(child)
    report = _read_all(report_fd)
    during = _client_ids(observer)
    code = _finish(pid, go)

    assert code == 0
    assert report == {"parent_value": 1, "child_value": 2, "loaded": True, "hit": True}
    assert parent_ids <= during  # the parent's connections were left open
    assert during - parent_ids  # the child opened connections of its own
    # The parent's engine still works on the same connections after the child is gone.
    assert cache.get("from-child") == 2
    assert users.get(2) == profile(2)
    assert parent_ids <= _client_ids(observer)
    cache.clear()
    cache.close()
    observer.close()


def test_a_child_forked_before_first_use_and_its_write_behind(
    redis_url: str, namespace: str
) -> None:
    """gunicorn's preload: objects made in the parent, used only in the children."""
    cache = Cache.from_url(redis_url, settings=Settings(namespace=namespace))
    store: MemoryStore[int, Profile] = MemoryStore()
    profiles: WriteBehind[int, Profile] = WriteBehind(
        cache, store, key="p:{}", type=Profile, flush_interval=60, strict=False
    )  # the fast mode writes the cache entry, so the test can see the child's write in Redis

    def child() -> dict[str, object]:
        with profiles:
            profiles.set(1, profile(1))
        return {"stored": store.get(1) == profile(1), "cached": cache.exists("p:1")}

    pid, report_fd, go = _in_child(child)
    report = _read_all(report_fd)
    assert _finish(pid, go) == 0

    assert report == {"stored": True, "cached": True}
    assert cache.exists("p:1") is True  # the child's write reached the shared Redis
    assert store.get(1) is None  # process memory is per process
    cache.clear()
    cache.close()


_POOL_CACHE: Cache | None = None  # a module-level cache, as a Celery app would hold it


def _pool_task(n: int) -> tuple[int, int | None]:
    """A Celery-style task run in a prefork worker: write, then read back."""
    assert _POOL_CACHE is not None
    _POOL_CACHE.set(f"task:{n}", n * n)
    return os.getpid(), _POOL_CACHE.get(f"task:{n}")


def test_prefork_pool_workers_each_build_their_own_engine(redis_url: str, namespace: str) -> None:
    """multiprocessing's 'fork' pool (Celery prefork's model) after the parent used it."""
    import multiprocessing

    global _POOL_CACHE
    _POOL_CACHE = Cache.from_url(redis_url, settings=Settings(namespace=namespace))
    _POOL_CACHE.set("parent", 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            with multiprocessing.get_context("fork").Pool(2) as pool:
                results = pool.map(_pool_task, range(20))
        assert [value for _, value in results] == [n * n for n in range(20)]
        assert os.getpid() not in {pid for pid, _ in results}
        assert _POOL_CACHE.get_many([f"task:{n}" for n in range(20)]) == {
            f"task:{n}": n * n for n in range(20)
        }
        assert _POOL_CACHE.get("parent") == 1  # the parent's engine still works
    finally:
        _POOL_CACHE.clear()
        _POOL_CACHE.close()
        _POOL_CACHE = None
