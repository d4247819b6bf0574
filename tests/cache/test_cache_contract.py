"""The Cache contract, run against memory, a private Redis and a private Cluster."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pydantic_core
import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from cachewright import (
    Cache,
    ConfigurationError,
    InvalidKey,
    SerializationError,
    TypeMismatch,
    escape_glob,
)
from cachewright.cache.envelope import COMPRESSED, pack
from tests._servers import wait_until_async
from tests.cache.conftest import BACKENDS, make_cache


class User(BaseModel):
    id: int
    name: str


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float


class Movie(TypedDict):
    title: str
    year: int


async def test_typed_round_trips(cache: Cache) -> None:
    await cache.set("user", User(id=1, name="ada"))
    await cache.set("point", Point(1.5, -2))
    await cache.set("movie", Movie(title="Alien", year=1979))
    await cache.set("list", [1, 2, 3])
    assert await cache.get("user", User) == User(id=1, name="ada")
    assert await cache.get("point", Point) == Point(1.5, -2)
    assert await cache.get("movie", Movie) == {"title": "Alien", "year": 1979}
    assert await cache.get("list", list[int]) == [1, 2, 3]
    assert await cache.get("user") == {"id": 1, "name": "ada"}


async def test_cached_none_is_told_apart_from_a_miss(cache: Cache) -> None:
    """G1."""
    await cache.set("nothing", None)
    entry = await cache.get_entry("nothing")
    assert entry is not None
    assert entry.value is None
    assert await cache.get_entry("absent") is None
    assert await cache.get("absent", User) is None


async def test_entry_metadata(cache: Cache) -> None:
    before = datetime.now(UTC)
    await cache.set("user", User(id=1, name="a"), ttl=60, tags=["users", "vip"])
    entry = await cache.get_entry("user", User)
    assert entry is not None
    assert entry.tags == ("users", "vip")
    assert entry.expires_at is not None
    assert before + timedelta(seconds=59) < entry.expires_at <= before + timedelta(seconds=61)
    assert entry.stale is False


async def test_ttl_expires_entries(cache: Cache) -> None:
    await cache.set("short", 1, ttl=timedelta(milliseconds=150))
    await cache.set("long", 1, ttl=60)
    assert await cache.get("short") == 1
    await wait_until_async(lambda: cache.exists("short"), expect=False, timeout=5)
    assert await cache.get("short") is None
    assert await cache.get("long") == 1


async def test_ttl_touch_and_no_expiry(cache: Cache) -> None:
    await cache.set("forever", 1, ttl=None)
    assert await cache.ttl("forever") == math.inf
    assert await cache.touch("forever", 30)
    left = await cache.ttl("forever")
    assert left is not None
    assert 29 < left <= 30
    assert await cache.ttl("absent") is None
    assert await cache.touch("absent", 30) is False


async def test_many_ops(cache: Cache) -> None:
    items = {f"k{i}": {"n": i} for i in range(100)}
    await cache.set_many(items, ttl=60, tags=["batch"])
    hits = await cache.get_many([*items, "missing"])
    assert hits == items
    assert await cache.delete_many(["k0", "k1", "nope"]) == 2
    assert await cache.get_many(["k0", "k1", "k2"]) == {"k2": {"n": 2}}
    assert await cache.invalidate_tags("batch") == 98
    assert await cache.get_many(list(items)) == {}


async def test_empty_many_ops(cache: Cache) -> None:
    assert await cache.get_many([]) == {}
    await cache.set_many({})
    assert await cache.delete_many([]) == 0
    assert await cache.invalidate_tags([]) == 0


async def test_delete(cache: Cache) -> None:
    await cache.set("a", 1)
    assert await cache.delete("a") is True
    assert await cache.delete("a") is False
    assert await cache.exists("a") is False


async def test_delete_pattern_takes_a_glob_as_written(cache: Cache) -> None:
    await cache.set_many({"temp:user:1": 1, "temp:user:2": 2, "temp:usr:3": 3, "keep": 4})
    assert await cache.delete_pattern("temp:user:*") == 2
    assert await cache.get_many(["temp:user:1", "temp:user:2", "temp:usr:3"]) == {"temp:usr:3": 3}
    await cache.set_many({"a1": 1, "b1": 2, "c1": 3, "a22": 4})
    assert await cache.delete_pattern("[ab]?") == 2  # a1, b1
    assert await cache.get_many(["c1", "a22", "keep"]) == {"c1": 3, "a22": 4, "keep": 4}


async def test_delete_prefix_and_escape_glob_keep_user_text_literal(cache: Cache) -> None:
    await cache.set_many(
        {"temp:*:1": 1, "temp:*:2": 2, "temp:ada:1": 3, "temp:[a]:1": 4, "keep": 5}
    )
    assert await cache.delete_prefix("temp:*:") == 2  # not temp:ada:1
    assert await cache.get("temp:ada:1") == 3
    assert await cache.delete_pattern(f"temp:{escape_glob('[a]')}:*") == 1
    assert await cache.get("temp:ada:1") == 3
    assert await cache.delete_prefix("temp:") == 1
    assert await cache.get("keep") == 5
    with pytest.raises(InvalidKey):
        await cache.delete_prefix("")  # never "everything": that is clear()


async def test_tags_invalidate_only_tagged_entries(cache: Cache) -> None:
    await cache.set("u1", 1, tags=["users"])
    await cache.set("u2", 2, tags=["users", "admins"])
    await cache.set("p1", 3, tags=["products"])
    await cache.set("plain", 4)
    assert await cache.invalidate_tags(["users"]) == 2
    assert await cache.get_many(["u1", "u2", "p1", "plain"]) == {"p1": 3, "plain": 4}
    assert await cache.invalidate_tags("admins") == 0
    assert await cache.invalidate_tags("users") == 0


async def test_counters(cache: Cache) -> None:
    assert await cache.incr("views") == 1
    assert await cache.incr("views", 5) == 6
    assert await cache.get("views", int) == 6
    total = await cache.incr("ratio", 0.5)
    assert isinstance(total, float)
    assert await cache.incr("ratio", 0.25) == pytest.approx(0.75)
    assert await cache.get("ratio", float) == pytest.approx(0.75)


async def test_sliding_extends_on_read_but_never_past_absolute(cache: Cache) -> None:
    """G4, without waiting: shorten the life with touch, then a read restores it."""
    await cache.set("sess", {"u": 1}, sliding=timedelta(seconds=20))
    assert await cache.touch("sess", 1)
    assert await cache.get("sess") == {"u": 1}
    left = await cache.ttl("sess")
    assert left is not None
    assert 19 < left <= 20

    await cache.set("capped", {"u": 2}, ttl=5, sliding=timedelta(seconds=20))
    first = await cache.ttl("capped")
    assert first is not None
    assert first <= 5
    assert await cache.touch("capped", 1)
    assert await cache.get("capped") == {"u": 2}
    after_read = await cache.ttl("capped")
    assert after_read is not None
    assert 3 < after_read <= 5  # restored up to the absolute cap, never to 20


async def test_sliding_touch_never_changes_a_newer_write(cache: Cache) -> None:
    await cache.set("k", 1, sliding=timedelta(seconds=20))
    entry = await cache.get_entry("k")
    assert entry is not None
    await cache.set("k", 2, ttl=2)
    # Touch with the old entry's header: must not apply to the new entry.
    touched = await cache.backend.touch_if(cache.keys.entry("k"), entry.version, 20_000)
    assert touched is False
    left = await cache.ttl("k")
    assert left is not None
    assert left <= 2


async def test_stale_entries(cache: Cache) -> None:
    await cache.set("s", "v", ttl=timedelta(milliseconds=100), stale_ttl=60)

    async def is_stale() -> bool:
        entry = await cache.get_entry("s")
        return entry is not None and entry.stale

    await wait_until_async(is_stale, timeout=5)
    assert await cache.get("s") is None  # get returns fresh values only
    entry = await cache.get_entry("s")
    assert entry is not None
    assert entry.value == "v"


async def test_expires_at(cache: Cache) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    await cache.set("a", 1, expires_at=deadline)
    left = await cache.ttl("a")
    assert left is not None
    assert 28 < left <= 30


async def test_corrupt_and_foreign_bytes_read_as_a_miss(cache: Cache) -> None:
    """G5."""
    backend = cache.backend
    await backend.set(cache.keys.entry("garbage"), b"\x00\x01not ours", None)
    await backend.set(cache.keys.entry("json"), b'{"looks": "like json"}', None)
    future = pack(b"1", flags=0, written_at_ms=1)
    await backend.set(cache.keys.entry("future"), future[:2] + b"\x09" + future[3:], None)
    await backend.set(cache.keys.entry("truncated"), future[:10], None)
    await backend.set(cache.keys.entry("badjson"), pack(b"{nope", flags=0, written_at_ms=1), None)
    await backend.set(
        cache.keys.entry("pickled"), pack(b"x" * 40, flags=0x02, written_at_ms=1), None
    )
    for key in ["garbage", "json", "future", "truncated", "badjson", "pickled"]:
        assert await cache.get(key) is None, key
        assert await cache.get_entry(key, User) is None, key
    assert await cache.get_many(["garbage", "json"]) == {}
    stats = await cache.stats(server=False)
    assert stats.corrupt == 14


async def test_wrong_shape_raises_type_mismatch(cache: Cache) -> None:
    """G5: never a half-validated object."""
    await cache.set("user", {"id": "not a number", "name": 5})
    with pytest.raises(TypeMismatch, match="User"):
        await cache.get("user", User)
    with pytest.raises(TypeMismatch):
        await cache.get_many(["user"], User)
    stats = await cache.stats(server=False)
    assert stats.type_mismatches == 2


async def test_unusable_types_are_a_configuration_error(cache: Cache) -> None:
    # A plain class pydantic has no schema for, on every Python (a typing.TypedDict, used
    # here before, is refused on 3.11 only: pydantic accepts it from 3.12 on).
    class Opaque:
        def __init__(self, a: int) -> None:
            self.a = a

    await cache.set("k", {"a": 1})
    with pytest.raises(ConfigurationError, match="cannot be used"):
        await cache.get("k", Opaque)


async def test_bad_keys_are_refused(cache: Cache) -> None:
    with pytest.raises(InvalidKey, match="empty"):
        await cache.get("")
    with pytest.raises(InvalidKey, match="longer"):
        await cache.set("k" * (2 * 1024 * 1024), 1)
    with pytest.raises(InvalidKey, match="str"):
        await cache.get(42)  # type: ignore[call-overload]
    with pytest.raises(InvalidKey):
        await cache.get_many("abc")
    with pytest.raises(InvalidKey):
        await cache.set("k", 1, tags=[""])


async def test_unencodable_values_are_refused_and_nothing_is_written(cache: Cache) -> None:
    with pytest.raises(SerializationError, match="object"):
        await cache.set("k", object())
    with pytest.raises(SerializationError):
        await cache.set_many({"a": 1, "b": object()})
    assert await cache.get_many(["k", "a", "b"]) == {}


async def test_leases_protect_fills(cache: Cache) -> None:
    """G10 primitive: a fill with a lease fails after any write or delete."""
    lease = await cache.try_lease("k", 10)
    assert lease is not None
    assert await cache.get("k") is None  # a lease reads as a miss
    assert await cache.try_lease("k", 10) is None  # held
    assert await cache.set_if_version("k", "filled", lease.version) is True
    assert await cache.get("k") == "filled"

    lease = await cache.try_lease("j", 10)
    assert lease is not None
    await cache.set("j", "newer")
    assert await cache.set_if_version("j", "old fill", lease.version) is False
    assert await cache.get("j") == "newer"

    lease = await cache.try_lease("i", 10, tags=["t"])
    assert lease is not None
    await cache.invalidate_tags("t")
    assert await cache.set_if_version("i", "old fill", lease.version) is False
    assert await cache.get("i") is None


async def test_stats_count_hits_and_misses(cache: Cache) -> None:
    await cache.set("a", 1)
    await cache.get("a")
    await cache.get("b")
    stats = await cache.stats()
    assert (stats.hits, stats.misses, stats.sets) == (1, 1, 1)
    assert stats.hit_ratio == 0.5
    assert stats.circuit_state == "closed"
    assert stats.namespace == cache.namespace
    assert stats.server["database_keys"] >= 1


async def test_stats_label_namespace_counters_and_database_figures(cache: Cache) -> None:
    other = Cache(cache.backend, namespace=cache.namespace + "x")
    await cache.set("a", 1)
    await other.set_many({"b": 2, "c": 3})
    try:
        stats = await cache.stats()
        # Counters: this namespace, this Cache object. Server figures: the whole
        # database, the other namespace's keys included, and named so.
        assert (stats.namespace, stats.sets) == (cache.namespace, 1)
        assert stats.server["database_keys"] >= 3
        assert "keys" not in stats.server
        assert (await cache.stats(server=False)).server == {}
    finally:
        await other.clear()


async def test_namespaces_isolate(cache: Cache) -> None:
    other = Cache(cache.backend, namespace=cache.namespace + "x")
    await cache.set("k", 1, tags=["t"])
    await other.set("k", 2, tags=["t"])
    assert await other.delete_pattern("*") == 1
    assert await cache.get("k") == 1
    await other.set("k", 2, tags=["t"])
    assert await other.invalidate_tags("t") == 1
    assert await cache.get("k") == 1


async def test_touch_and_sliding_keep_tagged_entries_in_their_index(cache: Cache) -> None:
    """G3 with G4: a life extended past the first write's index deadline stays indexed."""
    await cache.set("touched", 1, ttl=timedelta(milliseconds=300), tags=["t"])
    await cache.set("slid", 2, ttl=60, sliding=timedelta(milliseconds=300), tags=["t"])
    assert await cache.touch("touched", 60)
    # Time itself is under test here: let the first deadlines pass while reading the
    # sliding entry, which extends it on each read.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 0.6
    while loop.time() < deadline:
        assert await cache.get("slid") == 2
        await asyncio.sleep(0.05)
    await cache.set("other", 3, ttl=60, tags=["t"])  # a tagged write trims the index
    assert await cache.invalidate_tags("t") == 3
    assert await cache.get_many(["touched", "slid", "other"]) == {}


async def test_clear_removes_entries_and_bookkeeping(cache: Cache) -> None:
    await cache.set("a", 1, tags=["t"])
    await cache.set("b", 2)
    assert await cache.clear() == 2
    await cache.set("a", 3)  # untagged now: an old index must not remove it
    assert await cache.invalidate_tags("t") == 0
    assert await cache.get("a") == 3


async def test_versions_differ_for_identical_writes(cache: Cache) -> None:
    await cache.set("k", 1, ttl=60)
    first = await cache.get_entry("k")
    await cache.set("k", 1, ttl=60)
    assert first is not None
    assert await cache.set_if_version("k", 2, first.version) is False


@pytest.mark.parametrize("kind", BACKENDS)
async def test_large_values_are_compressed_above_the_threshold(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    cache = await make_cache(kind, namespace, request, compress_threshold=64)
    try:
        big = {"text": "cachewright " * 200}
        await cache.set("big", big)
        await cache.set("small", {"n": 1})
        raw_big = await cache.backend.get(cache.keys.entry("big"))
        raw_small = await cache.backend.get(cache.keys.entry("small"))
        assert raw_big is not None
        assert raw_small is not None
        assert raw_big[3] & COMPRESSED
        assert not raw_small[3] & COMPRESSED
        assert len(raw_big) < len(pydantic_core.to_json(big)) // 4
        assert await cache.get("big") == big
        assert await cache.get("small") == {"n": 1}
        # A cache without compression still reads compressed entries (the flag says so).
        plain = Cache(cache.backend, namespace=namespace)  # shares (and leaves) the backend
        assert await plain.get("big") == big
    finally:
        await cache.clear()
        await cache.close()
