"""The local tier of a two-level cache, in one process: bounds, lives, fences, stats."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from pydantic import BaseModel

from cachewright import Cache, ConfigurationError, Lease, Settings, TypeMismatch
from cachewright.cache._expiry import now_ms, plan_expiry
from cachewright.cache._serializer import Serializer
from cachewright.cache.codecs import JsonCodec
from cachewright.cache.entry import Entry
from cachewright.cache.envelope import LEASE, pack
from cachewright.cache.local import LocalTier
from cachewright.cache.local._store import LocalStore
from tests._servers import RedisServer, wait_until_async


class User(BaseModel):
    id: int
    name: str


async def _two_level(
    kind: str, namespace: str, request: pytest.FixtureRequest, tier: LocalTier
) -> Cache:
    if kind == "memory":
        return Cache.from_url("memory://", namespace=namespace, local=tier)
    server: RedisServer = request.getfixturevalue("redis_server")
    if server.process is None:
        server.start()
    return Cache.from_url(server.url, namespace=namespace, local=tier)


@pytest.fixture(params=["memory", "redis"])
async def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def cache(kind: str, namespace: str, request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    instance = await _two_level(kind, namespace, request, LocalTier(max_entries=100, ttl=30))
    async with instance:
        yield instance
        await instance.clear()


async def _local(cache: Cache) -> int:
    stats = await cache.stats(server=False)
    return stats.local_hits


async def test_a_second_read_is_a_local_hit_returning_the_same_object(cache: Cache) -> None:
    await cache.set("u", User(id=1, name="ada"))
    first = await cache.get("u", User)
    second = await cache.get("u", User)
    assert first == second == User(id=1, name="ada")
    assert second is first  # shared: values must be treated as immutable (documented)
    as_dict = await cache.get("u")  # another type: decoded from the kept bytes, no I/O
    assert as_dict == {"id": 1, "name": "ada"}
    stats = await cache.stats(server=False)
    assert (stats.hits, stats.local_hits, stats.misses) == (3, 2, 0)
    assert stats.local is not None
    assert (stats.local.hits, stats.local.misses, stats.local.fills) == (2, 1, 1)
    assert stats.local.entries == 1
    assert stats.local.channel in {"up", "in-process"}
    assert stats.as_dict()["local"]["hits"] == 2


async def test_share_values_false_decodes_a_copy_per_hit(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    tier = LocalTier(ttl=30, share_values=False)
    async with await _two_level(kind, namespace, request, tier) as cache:
        await cache.set("u", {"tags": ["a"]})
        first = await cache.get("u")
        second = await cache.get("u")
        assert first == second
        assert first is not second
        second["tags"].append("mutated")
        assert await cache.get("u") == {"tags": ["a"]}
        assert await _local(cache) == 2
        await cache.clear()


async def test_lru_bound_by_entries(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    async with await _two_level(kind, namespace, request, LocalTier(max_entries=3)) as cache:
        await cache.set_many({f"k{i}": i for i in range(5)})
        for i in range(3):
            await cache.get(f"k{i}")
        await cache.get("k0")  # k0 is now the most recently used
        await cache.get("k3")  # evicts k1, the least recently used
        await cache.get("k4")  # evicts k2
        before = await _local(cache)
        assert await cache.get("k0") == 0
        assert await _local(cache) == before + 1  # still local
        assert await cache.get("k1") == 1  # from Redis again
        assert await _local(cache) == before + 1
        stats = await cache.stats(server=False)
        assert stats.local is not None
        assert stats.local.entries == 3
        assert stats.local.evictions == 3
        await cache.clear()


async def test_lru_bound_by_bytes(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    tier = LocalTier(max_entries=1000, max_bytes=1000)
    async with await _two_level(kind, namespace, request, tier) as cache:
        await cache.set_many({f"k{i}": "x" * 200 for i in range(10)})
        await cache.set("huge", "y" * 2000)
        for i in range(10):
            await cache.get(f"k{i}")
        await cache.get("huge")  # larger than the whole bound: never kept
        stats = await cache.stats(server=False)
        assert stats.local is not None
        assert 0 < stats.local.bytes <= 1000
        assert stats.local.entries < 10
        assert stats.local.evictions == 10 - stats.local.entries
        await cache.clear()


async def test_local_life_never_outlasts_the_redis_ttl(cache: Cache) -> None:
    await cache.set("short", 1, ttl=timedelta(milliseconds=300))
    assert await cache.get("short") == 1
    assert await cache.get("short") == 1
    assert await _local(cache) == 1  # held locally although the tier's ttl is 30 s
    await wait_until_async(lambda: cache.exists("short"), expect=False, timeout=5)
    assert await cache.get("short") is None
    stats = await cache.stats(server=False)
    assert stats.local is not None
    assert stats.local.expirations == 1


async def test_stale_entries_are_never_served_locally(cache: Cache) -> None:
    # A second of life: the read below must find it fresh (and keep a local copy) even
    # on a loaded machine, where 200 ms could pass between the two calls.
    await cache.set("s", "v", ttl=timedelta(seconds=1), stale_ttl=60)
    assert await cache.get("s") == "v"

    async def stale() -> bool:
        entry = await cache.get_entry("s")
        return entry is not None and entry.stale

    await wait_until_async(stale, timeout=5)
    assert await cache.get("s") is None


async def test_sliding_entries_keep_living_in_redis_while_read_locally(cache: Cache) -> None:
    """G4 on two levels: a copy lives locally a quarter window at most, so hot reads
    keep reaching Redis, which extends the entry; local hits answer in between."""
    window = 1.0
    await cache.set("sess", {"u": 1}, sliding=timedelta(seconds=window))
    loop = asyncio.get_running_loop()
    end = loop.time() + 2 * window
    while loop.time() < end:  # reads for twice the window: the entry must survive
        assert await cache.get("sess") == {"u": 1}
        await asyncio.sleep(0.05)
    left = await cache.ttl("sess")
    assert left is not None
    assert left > window / 2
    stats = await cache.stats(server=False)
    assert stats.local is not None
    assert stats.local_hits > 0
    assert stats.local.fills >= 2  # refilled after each quarter window
    assert stats.local.expirations >= 1


async def test_writes_and_invalidations_drop_local_copies(cache: Cache) -> None:
    await cache.set_many({"a": 1, "temp:1": 2, "temp:2": 3}, tags=["letters"])
    await cache.set("u", 4, tags=["users"])
    await cache.set("n", 5)
    assert await cache.get_many(["a", "temp:1", "temp:2", "u", "n"]) == {
        "a": 1,
        "temp:1": 2,
        "temp:2": 3,
        "u": 4,
        "n": 5,
    }
    await cache.set("a", 10)
    assert await cache.get("a") == 10
    assert await cache.invalidate_tags("users") == 1
    assert await cache.get("u") is None
    assert await cache.delete_pattern("temp:*") == 2
    assert await cache.get_many(["temp:1", "temp:2"]) == {}
    assert await cache.touch("n", 60)
    assert await cache.delete("a")
    assert await cache.get("a") is None
    assert await cache.get("n") == 5
    await cache.clear()
    assert await cache.get("n") is None
    stats = await cache.stats(server=False)
    assert stats.local is not None
    assert stats.local.invalidated >= 6


async def test_get_many_mixes_local_and_remote_hits_in_order(cache: Cache) -> None:
    await cache.set_many({"a": 1, "b": 2, "c": 3})
    assert await cache.get("b") == 2
    before = await _local(cache)
    hits = await cache.get_many(["c", "b", "missing", "a"])
    assert list(hits.items()) == [("c", 3), ("b", 2), ("a", 1)]
    assert await _local(cache) == before + 1
    assert await cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}
    assert await _local(cache) == before + 4


async def test_counters_and_leases_are_never_kept_locally(cache: Cache) -> None:
    await cache.incr("views", 2)
    assert await cache.get("views", int) == 2
    assert await cache.incr("views") == 3
    assert await cache.get("views", int) == 3

    lease = await cache.try_lease("k", 10)
    assert lease is not None
    assert isinstance(await cache.lookup("k"), Lease)
    assert isinstance(await cache.lookup("k"), Lease)
    assert await cache.set_if_version("k", "filled", lease.version)
    assert await cache.get("k") == "filled"
    assert await _local(cache) == 0


async def test_compare_and_set_works_with_a_local_version(cache: Cache) -> None:
    await cache.set("k", 1)
    await cache.get("k")
    entry = await cache.get_entry("k")  # a local hit: same version as in Redis
    assert entry is not None
    assert await _local(cache) == 1
    # (A ttl makes the new header differ from the old even within the same millisecond.)
    assert await cache.set_if_version("k", 2, entry.version, ttl=60)
    assert await cache.get("k") == 2
    assert not await cache.set_if_version("k", 3, entry.version)  # lost: changes nothing
    assert await cache.get("k") == 2


async def test_type_mismatch_is_raised_from_local_copies_too(cache: Cache) -> None:
    await cache.set("u", {"id": "not a number"})
    assert await cache.get("u") == {"id": "not a number"}
    with pytest.raises(TypeMismatch):
        await cache.get("u", User)


def _entry(value: object) -> Entry[object]:
    return Entry(value=value)


def _raw(value: object, tags: tuple[str, ...] = ()) -> bytes:
    serializer = Serializer(
        JsonCodec(), compress_threshold=None, max_bytes=2**20, on_type_mismatch="raise"
    )
    return serializer.encode(value, plan_expiry(60), tags)


def _store() -> LocalStore:
    store = LocalStore(LocalTier(), lambda raw, tp: None)
    store.trust()
    return store


def test_fences_refuse_fills_that_raced_an_invalidation() -> None:
    """A Redis read in flight when an invalidation lands must not refill the old value."""
    store = _store()
    old = _raw("old", ("t",))

    ticket = store.ticket()
    store.drop(["k"])  # a write of k lands while the read is in flight
    assert not store.fill("k", old, None, _entry("old"), ticket)
    assert store.fill("j", old, None, _entry("old"), ticket)  # other keys are unaffected

    broad: list[Callable[[], None]] = [
        lambda: store.drop_tags(["t"]),
        lambda: store.drop_matching(re.compile(r"x\Z")),
        store.clear,
    ]
    for invalidate in broad:
        ticket = store.ticket()
        invalidate()
        assert not store.fill("k", old, None, _entry("old"), ticket)
        assert store.fill("k", old, None, _entry("old"), store.ticket())  # a later read may

    ticket = store.ticket()
    store.distrust()  # the channel dropped: messages may be lost until it is back
    assert not store.fill("k", old, None, _entry("old"), store.ticket())  # not trusted
    store.trust()
    assert not store.fill("k", old, None, _entry("old"), ticket)
    assert store.fill("k", old, None, _entry("old"), store.ticket())


def test_many_recent_drops_degrade_to_a_broad_fence() -> None:
    store = _store()
    raw = _raw(1)
    ticket = store.ticket()
    store.drop(f"k{i}" for i in range(5000))  # more than the fence remembers by key
    assert not store.fill("other", raw, None, _entry(1), ticket)
    assert store.fill("other", raw, None, _entry(1), store.ticket())


def test_counters_leases_and_expired_bytes_are_refused() -> None:
    store = _store()
    assert not store.fill("c", b"42", None, _entry(42), store.ticket())
    lease = pack(b"x" * 12, flags=LEASE, written_at_ms=now_ms(), expires_at_ms=now_ms() + 10_000)
    assert not store.fill("l", lease, None, _entry(None), store.ticket())
    gone = pack(b"1", flags=0, written_at_ms=1, expires_at_ms=2)
    assert not store.fill("g", gone, None, _entry(1), store.ticket())
    assert len(store) == 0


def test_tier_configuration_is_validated() -> None:
    for bad in (
        {"max_entries": 0},
        {"max_entries": True},
        {"ttl": 0},
        {"ttl": float("inf")},
        {"max_bytes": 0},
        {"ping_interval": -1},
        {"max_backoff": "1"},
    ):
        with pytest.raises(ConfigurationError):
            LocalTier(**bad)


def test_tier_from_settings_fields() -> None:
    assert LocalTier.from_settings(Settings()) is None  # opt-in
    tier = LocalTier.from_settings(
        SimpleNamespace(local_max_entries=50, local_ttl=2.0, local_max_bytes=4096)
    )
    assert tier == LocalTier(max_entries=50, ttl=2.0, max_bytes=4096)
    assert LocalTier.from_settings(SimpleNamespace(local_max_entries=5)) == LocalTier(5)


async def test_a_backend_without_a_channel_is_refused(redis_url: str) -> None:
    from cachewright.cache.backends.redis import RedisBackend

    backend = RedisBackend.from_url(redis_url)
    with pytest.raises(ConfigurationError, match="invalidation channel"):
        Cache(backend, local=LocalTier())
    async with Cache(backend, local=LocalTier(), url=redis_url) as cache:
        assert cache.local
        await cache.set("k", 1)
        assert await cache.get("k") == 1
        await cache.delete("k")


async def test_one_level_caches_report_no_local_tier() -> None:
    async with Cache.from_url("memory://") as cache:
        assert not cache.local
        await cache.set("k", 1)
        assert await cache.get("k") == 1
        stats = await cache.stats()
        assert stats.local is None
        assert stats.local_hits == 0
