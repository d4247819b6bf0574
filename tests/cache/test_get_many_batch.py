"""get_many validates a batch in one call; every entry still reads as a single get would.

The optimistic path (cachewright.cache._bulk) must give way, entry by entry, to the
same outcome as ``get`` for each key: a corrupt or foreign entry is a miss (G5), a
wrong-shaped one raises TypeMismatch or is a miss by setting, and entries that need
more than their payload (tags, sliding, stale grace, leases, counters) are unchanged.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel

from cachewright import Cache, InvalidKey, TypeMismatch
from cachewright.cache.entry import MAX_MS
from cachewright.cache.envelope import pack
from tests._servers import wait_until_async
from tests.cache.conftest import BACKENDS, make_cache


class User(BaseModel):
    id: int
    name: str


def users(count: int) -> dict[str, User]:
    return {f"u{i}": User(id=i, name=f"user {i}") for i in range(count)}


async def put_raw(cache: Cache, key: str, raw: bytes) -> None:
    await cache.backend.set(cache.keys.entry(key), raw, 60_000)


async def one_by_one(cache: Cache, keys: list[str], tp: object) -> dict[str, object]:
    found = {}
    for key in keys:
        value = await cache.get(key, tp)
        if value is not None:
            found[key] = value
    return found


async def test_a_corrupt_entry_among_100_is_a_miss_and_the_others_hit(cache: Cache) -> None:
    """G5 on the batch path: the one bad payload reads as a miss, counted."""
    values = users(100)
    await cache.set_many(values, type=User)
    await put_raw(cache, "u37", pack(b'{"id": 37, "name": "tru', flags=0, written_at_ms=1))
    before = await cache.stats(server=False)
    found = await cache.get_many(list(values), User)
    after = await cache.stats(server=False)
    expected = {key: value for key, value in values.items() if key != "u37"}
    assert found == expected
    assert list(found) == list(expected)  # the asked order
    assert after.corrupt - before.corrupt == 1
    assert after.hits - before.hits == 99
    assert after.misses - before.misses == 1


async def test_payloads_that_would_join_into_valid_json_are_each_a_miss(cache: Cache) -> None:
    """Each payload is parsed on its own: '[1' and '2]' never read as one value."""
    await cache.set("before", [0], type=list[int])
    await put_raw(cache, "a", pack(b"[1", flags=0, written_at_ms=1))
    await put_raw(cache, "b", pack(b"2]", flags=0, written_at_ms=1))
    await put_raw(cache, "c", pack(b"3,4", flags=0, written_at_ms=1))
    await cache.set("after", [5], type=list[int])
    keys = ["before", "a", "b", "c", "after"]
    assert await cache.get_many(keys, list[int]) == {"before": [0], "after": [5]}
    assert await cache.get_many(keys) == {"before": [0], "after": [5]}  # untyped too
    assert (await cache.stats(server=False)).corrupt == 6


async def test_a_wrong_shaped_entry_among_100_raises_as_a_get_does(cache: Cache) -> None:
    """G5: never a half-validated batch; the error is the one a get raises."""
    values = users(100)
    await cache.set_many(values, type=User)
    await cache.set("u50", {"id": "not a number", "name": 5})
    with pytest.raises(TypeMismatch, match="User") as single:
        await cache.get("u50", User)
    with pytest.raises(TypeMismatch, match="User") as batch:
        await cache.get_many(list(values), User)
    assert str(batch.value) == str(single.value)
    assert (await cache.stats(server=False)).type_mismatches == 2


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_wrong_shaped_entry_is_a_miss_when_so_configured(
    kind: str, namespace: str, request: pytest.FixtureRequest
) -> None:
    cache = await make_cache(kind, namespace, request, on_type_mismatch="miss")
    try:
        values = users(100)
        await cache.set_many(values, type=User)
        await cache.set("u50", {"id": "not a number", "name": 5})
        found = await cache.get_many(list(values), User)
        assert await cache.get("u50", User) is None
        assert found == {key: value for key, value in values.items() if key != "u50"}
        assert found == await one_by_one(cache, list(values), User)
    finally:
        await cache.clear()
        await cache.close()


async def test_entries_off_the_plain_path_read_as_single_gets_do(cache: Cache) -> None:
    """Tagged, sliding, stale, leased, counter, compressed-flag and out-of-range
    entries mixed with plain ones: same values as get, in the asked order."""
    await cache.set("plain1", {"n": 1})
    await cache.set("tagged", {"n": 2}, tags=["t"])
    await cache.set("sliding", {"n": 3}, sliding=60)
    await cache.set("graced", {"n": 4}, ttl=60, stale_ttl=60)
    await cache.set("stale", {"n": 5}, ttl=timedelta(milliseconds=50), stale_ttl=60)
    assert await cache.try_lease("leased", 60) is not None
    await cache.incr("counter", 7)
    await put_raw(cache, "far", pack(b'{"n": 6}', flags=0, written_at_ms=MAX_MS + 1))
    await put_raw(cache, "farther", pack(b"6", flags=0, written_at_ms=1, expires_at_ms=MAX_MS))
    await cache.set("plain2", {"n": 8})

    async def is_stale() -> bool:
        entry = await cache.get_entry("stale")
        return entry is not None and entry.stale

    await wait_until_async(is_stale, timeout=5)
    keys = ["plain1", "tagged", "sliding", "graced", "stale", "leased", "counter", "far",
            "farther", "missing", "plain2"]  # fmt: skip
    assert await cache.backend.expire(cache.keys.entry("sliding"), 5_000)
    found = await cache.get_many(keys)
    left = await cache.ttl("sliding")
    assert left is not None
    assert left > 30  # the read slid it back to its 60 s window (G4)
    assert found == await one_by_one(cache, keys, None)
    assert list(found) == ["plain1", "tagged", "sliding", "graced", "counter", "plain2"]
    assert found["counter"] == 7


async def test_hits_and_misses_are_counted_as_single_gets_count_them(cache: Cache) -> None:
    values = users(10)
    await cache.set_many(values, type=User)
    keys = [*values, "absent1", "absent2"]
    before = await cache.stats(server=False)
    await cache.get_many(keys, User)
    middle = await cache.stats(server=False)
    await one_by_one(cache, keys, User)
    after = await cache.stats(server=False)
    assert middle.hits - before.hits == after.hits - middle.hits == 10
    assert middle.misses - before.misses == after.misses - middle.misses == 2


async def test_batch_keys_are_checked_as_single_keys_are(cache: Cache) -> None:
    await cache.set("é", 1)
    assert await cache.get_many(["é", "a" * 100]) == {"é": 1}
    with pytest.raises(InvalidKey, match="str"):
        await cache.get_many(["ok", 42])  # type: ignore[list-item]
    with pytest.raises(InvalidKey, match="empty"):
        await cache.get_many(["ok", ""])
    with pytest.raises(InvalidKey, match="longer"):
        await cache.get_many(["ok", "k" * (cache.keys.max_length + 1)])
    with pytest.raises(InvalidKey, match="longer"):  # short in characters, long in bytes
        await cache.get_many(["ok", "é" * (cache.keys.max_length // 2 + 1)])
