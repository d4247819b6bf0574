"""The core of the Cache contract, run against the sync API on memory and a private Redis.

The same cases as ``tests/cache/test_cache_contract.py`` (G1, G3, G4, ttl, many-ops,
counters, typed reads, errors), written as plain functions with no event loop.
"""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from cachewright import ConfigurationError, Entry, InvalidKey, TypeMismatch
from cachewright.sync import Cache
from tests._servers import wait_until
from tests.sync.conftest import make_sync_cache


class User(BaseModel):
    id: int
    name: str


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float


def test_typed_round_trips(sync_cache: Cache) -> None:
    sync_cache.set("user", User(id=1, name="ada"))
    sync_cache.set("point", Point(1.5, -2))
    sync_cache.set("list", [1, 2, 3])

    assert sync_cache.get("user", User) == User(id=1, name="ada")
    assert sync_cache.get("point", Point) == Point(1.5, -2)
    assert sync_cache.get("list", list[int]) == [1, 2, 3]
    assert sync_cache.get("user") == {"id": 1, "name": "ada"}


def test_cached_none_is_told_apart_from_a_miss(sync_cache: Cache) -> None:
    """G1."""
    sync_cache.set("nothing", None)

    entry = sync_cache.get_entry("nothing")
    assert isinstance(entry, Entry)
    assert entry.value is None
    assert sync_cache.get_entry("absent") is None
    assert sync_cache.get("absent", User) is None


def test_entry_metadata(sync_cache: Cache) -> None:
    before = datetime.now(UTC)
    sync_cache.set("user", User(id=1, name="a"), ttl=60, tags=["users", "vip"])

    entry = sync_cache.get_entry("user", User)

    assert entry is not None
    assert entry.tags == ("users", "vip")
    assert entry.expires_at is not None
    assert before + timedelta(seconds=59) < entry.expires_at <= before + timedelta(seconds=61)


def test_ttl_expires_entries(sync_cache: Cache) -> None:
    sync_cache.set("short", 1, ttl=timedelta(milliseconds=150))
    sync_cache.set("long", 1, ttl=60)
    assert sync_cache.get("short") == 1

    wait_until(lambda: not sync_cache.exists("short"), timeout=5)

    assert sync_cache.get("short") is None
    assert sync_cache.get("long") == 1


def test_ttl_touch_and_no_expiry(sync_cache: Cache) -> None:
    sync_cache.set("forever", 1, ttl=None)
    sync_cache.set("timed", 1, ttl=100)

    assert sync_cache.ttl("forever") == math.inf
    timed = sync_cache.ttl("timed")
    assert timed is not None
    assert 90 < timed <= 100
    assert sync_cache.ttl("missing") is None
    assert sync_cache.touch("timed", 500) is True
    touched = sync_cache.ttl("timed")
    assert touched is not None
    assert 490 < touched <= 500
    assert sync_cache.touch("missing", 5) is False


def test_sliding_expiry_extends_on_read(sync_cache: Cache) -> None:
    """G4: each read gives the entry its sliding life again."""
    sync_cache.set("sess", 1, ttl=60, sliding=timedelta(seconds=2))
    first = sync_cache.ttl("sess")
    assert first is not None
    assert first <= 2
    time.sleep(0.3)  # let time pass so the extension is visible (not a synchronisation)

    assert sync_cache.get("sess") == 1

    second = sync_cache.ttl("sess")
    assert second is not None
    assert second > 1.8


def test_many_ops(sync_cache: Cache) -> None:
    sync_cache.set_many({"a": 1, "b": 2, "c": None}, ttl=60, tags=["letters"])

    assert sync_cache.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": 2, "c": None}
    assert sync_cache.get_many(iter(["a"])) == {"a": 1}
    entries = sync_cache.get_many_entries(["a", "zz"])
    assert list(entries) == ["a"]
    assert entries["a"].tags == ("letters",)
    assert sync_cache.delete_many(["a", "b", "missing"]) == 2
    assert sync_cache.get_many(["a", "b", "c"]) == {"c": None}


def test_delete_and_exists(sync_cache: Cache) -> None:
    sync_cache.set("k", "v")

    assert sync_cache.exists("k") is True
    assert sync_cache.delete("k") is True
    assert sync_cache.delete("k") is False
    assert sync_cache.exists("k") is False


def test_tags_invalidate_only_their_entries(sync_cache: Cache) -> None:
    """G3 (the behaviour; the cost is covered by the async suite on the same engine)."""
    sync_cache.set("u1", 1, tags=["users"])
    sync_cache.set("u2", 2, tags=("users", "vip"))
    sync_cache.set("p1", 3, tags="products")

    assert sync_cache.invalidate_tags("users") == 2
    assert sync_cache.get_many(["u1", "u2", "p1"]) == {"p1": 3}
    assert sync_cache.invalidate_tags(iter(["products", "none"])) == 1
    assert sync_cache.invalidate_tags([]) == 0


def test_delete_pattern_and_clear(sync_cache: Cache) -> None:
    sync_cache.set_many({"temp:1": 1, "temp:2": 2, "keep": 3})

    assert sync_cache.delete_pattern("temp:*") == 2
    assert sync_cache.delete_prefix("keep*") == 0  # '*' matches only itself
    assert sync_cache.delete_prefix("ke") == 1
    sync_cache.set("keep", 3)
    assert sync_cache.clear() == 1
    assert sync_cache.get("keep") is None


def test_counters(sync_cache: Cache) -> None:
    assert sync_cache.incr("views") == 1
    assert sync_cache.incr("views", 5) == 6
    assert sync_cache.incr("ratio", 0.5) == pytest.approx(0.5)
    with pytest.raises(ConfigurationError):
        sync_cache.incr("views", True)


def test_stats_count_this_cache(sync_cache: Cache) -> None:
    sync_cache.set("k", 1)
    sync_cache.get("k")
    sync_cache.get("missing")

    stats = sync_cache.stats(server=False)

    assert (stats.hits, stats.misses, stats.sets) == (1, 1, 1)


def test_errors_pass_through_unchanged(sync_cache: Cache) -> None:
    with pytest.raises(InvalidKey):
        sync_cache.set("", 1)
    sync_cache.set("user", {"id": "not a number", "name": 1})
    with pytest.raises(TypeMismatch):
        sync_cache.get("user", User)


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_with_block_and_idempotent_close(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    cache = make_sync_cache(kind, namespace, request)
    with cache as opened:
        opened.set("k", 1)
        assert opened.get("k") == 1
        opened.clear()
    cache.close()
    cache.close()
    Cache.from_url("memory://").close()  # never used: nothing to close, nothing started


def test_a_bad_url_raises_a_typed_error_at_first_use() -> None:
    cache = Cache.from_url("ftp://nowhere")
    with pytest.raises(ConfigurationError):
        cache.get("k")
