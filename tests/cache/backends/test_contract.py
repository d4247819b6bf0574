"""The Backend contract, run against memory, a private Redis and a private Cluster."""

from __future__ import annotations

import pytest

from cachewright.cache.backends.base import Backend
from cachewright.cache.keys import escape_glob
from cachewright.errors import CacheError
from tests._servers import wait_until_async
from tests.cache.backends.conftest import Names


async def test_get_set_without_ttl(backend: Backend, names: Names) -> None:
    key = names.key("plain")
    assert await backend.get(key) is None
    await backend.set(key, b"\x00value\xff", None)
    assert await backend.get(key) == b"\x00value\xff"
    assert await backend.pttl(key) == -1
    await backend.set(key, b"second", None)
    assert await backend.get(key) == b"second"


async def test_ttl_is_honoured(backend: Backend, names: Names) -> None:
    key = names.key("short")
    await backend.set(key, b"v", 150)
    left = await backend.pttl(key)
    assert left is not None
    assert 0 < left <= 150
    await wait_until_async(lambda: backend.get(key), expect=None, timeout=3)
    assert await backend.pttl(key) is None
    assert not await backend.exists(key)


async def test_set_many_and_get_many_keep_order_and_misses(backend: Backend, names: Names) -> None:
    keys = names.keys(5)
    await backend.set_many([(keys[0], b"a", None), (keys[2], b"c", 60_000), (keys[4], b"e", None)])
    values = await backend.get_many([keys[4], keys[1], keys[0], keys[3], keys[2], keys[4]])
    assert values == [b"e", None, b"a", None, b"c", b"e"]
    assert await backend.pttl(keys[0]) == -1
    assert 0 < (await backend.pttl(keys[2]) or 0) <= 60_000
    assert await backend.get_many([]) == []
    await backend.set_many([])


async def test_add_only_when_absent(backend: Backend, names: Names) -> None:
    key, tag = names.key("once"), names.tag("once")
    assert await backend.add(key, b"first", None)
    assert not await backend.add(key, b"second", None)
    assert await backend.get(key) == b"first"
    other = names.key("tagged-once")
    assert await backend.add(other, b"x", 60_000, [tag])
    assert await backend.invalidate_tags([tag]) == 1
    assert await backend.get(other) is None


async def test_compare_and_set(backend: Backend, names: Names) -> None:
    key, tag = names.key("cas"), names.tag("cas")
    assert not await backend.compare_and_set(key, b"v1", b"v2", None)
    assert await backend.get(key) is None
    await backend.set(key, b"v1:payload", None)
    assert not await backend.compare_and_set(key, b"v0", b"v2", None)
    assert await backend.get(key) == b"v1:payload"
    assert await backend.compare_and_set(key, b"v1", b"v2:payload", 60_000, [tag])
    assert await backend.get(key) == b"v2:payload"
    assert 0 < (await backend.pttl(key) or 0) <= 60_000
    assert await backend.invalidate_tags([tag]) == 1


async def test_touch_if(backend: Backend, names: Names) -> None:
    key = names.key("touch")
    assert not await backend.touch_if(key, b"v", 60_000)
    await backend.set(key, b"v1", 1_000)
    assert not await backend.touch_if(key, b"v2", 60_000)
    assert (await backend.pttl(key) or 0) <= 1_000
    assert await backend.touch_if(key, b"v1", 60_000)
    assert 1_000 < (await backend.pttl(key) or 0) <= 60_000
    assert await backend.get(key) == b"v1"


async def test_delete_and_delete_many_count(backend: Backend, names: Names) -> None:
    keys = names.keys(4)
    await backend.set_many([(key, b"v", None) for key in keys[:3]])
    assert await backend.delete(keys[0])
    assert not await backend.delete(keys[0])
    assert await backend.delete_many([keys[0], keys[1], keys[2], keys[3]]) == 2
    assert await backend.get_many(keys) == [None] * 4
    assert await backend.delete_many([]) == 0


async def test_delete_pattern_removes_only_matches(backend: Backend, names: Names) -> None:
    await backend.set_many(
        [
            (names.key("temp:1"), b"v", None),
            (names.key("temp:2"), b"v", 60_000),
            (names.key("keep:1"), b"v", None),
            (names.key("a*b"), b"v", None),
            (names.key("axb"), b"v", None),
        ]
    )
    pattern = escape_glob(names.key("temp:")) + "*"
    assert await backend.delete_pattern(pattern) == 2
    assert await backend.exists(names.key("keep:1"))
    # Escaped user text matches itself only: the '*' in "a*b" is no wildcard.
    assert await backend.delete_pattern(escape_glob(names.key("a*b"))) == 1
    assert not await backend.exists(names.key("a*b"))
    assert await backend.exists(names.key("axb"))
    assert await backend.delete_pattern(escape_glob(names.key("none")) + "*") == 0


async def test_invalidate_tags_removes_exactly_the_tagged_live_entries(
    backend: Backend, names: Names
) -> None:
    red, blue = names.tag("red"), names.tag("blue")
    red_keys, both_keys, plain_keys = names.keys(3, "r"), names.keys(2, "rb"), names.keys(3, "p")
    await backend.set_many([(key, b"v", 60_000) for key in red_keys], [red])
    await backend.set_many([(key, b"v", None) for key in both_keys], [red, blue])
    await backend.set(names.key("b"), b"v", None, [blue])
    await backend.set_many([(key, b"v", None) for key in plain_keys])
    await backend.delete(red_keys[0])  # indexed, but no longer live: not counted
    assert await backend.invalidate_tags([red]) == 4
    assert await backend.get_many(red_keys + both_keys) == [None] * 5
    assert await backend.get_many(plain_keys) == [b"v"] * 3
    assert await backend.get(names.key("b")) == b"v"
    assert await backend.invalidate_tags([red]) == 0
    assert await backend.invalidate_tags([blue, red]) == 1
    assert await backend.invalidate_tags([]) == 0


async def test_an_entry_in_several_tags_counts_once(backend: Backend, names: Names) -> None:
    tags = [names.tag("x"), names.tag("y")]
    await backend.set(names.key("xy"), b"v", 60_000, tags)
    assert await backend.invalidate_tags(tags) == 1


async def test_exists(backend: Backend, names: Names) -> None:
    key = names.key("here")
    assert not await backend.exists(key)
    await backend.set(key, b"", None)
    assert await backend.exists(key)
    assert await backend.get(key) == b""


async def test_pttl_tells_no_expiry_from_missing(backend: Backend, names: Names) -> None:
    key = names.key("ttl")
    assert await backend.pttl(key) is None
    await backend.set(key, b"v", None)
    assert await backend.pttl(key) == -1


async def test_expire_sets_and_removes_expiry(backend: Backend, names: Names) -> None:
    key = names.key("expire")
    assert not await backend.expire(key, 1_000)
    assert not await backend.expire(key, None)
    await backend.set(key, b"v", None)
    assert await backend.expire(key, 30_000)
    assert 0 < (await backend.pttl(key) or 0) <= 30_000
    assert await backend.expire(key, None)
    assert await backend.pttl(key) == -1
    assert await backend.expire(key, None)  # no expiry to remove, but the key exists


async def test_incr_int_and_float(backend: Backend, names: Names) -> None:
    counter, gauge = names.key("counter"), names.key("gauge")
    first = await backend.incr(counter, 5)
    assert first == 5
    assert isinstance(first, int)
    assert await backend.incr(counter, -2) == 3
    assert await backend.get(counter) == b"3"
    half = await backend.incr(gauge, 0.5)
    assert isinstance(half, float)
    assert half == pytest.approx(0.5)
    assert await backend.incr(gauge, 1.25) == pytest.approx(1.75)


async def test_incr_of_a_non_number_is_a_cache_error(backend: Backend, names: Names) -> None:
    key = names.key("text")
    await backend.set(key, b"not a number", None)
    with pytest.raises(CacheError):
        await backend.incr(key, 1)


async def test_info_reports_keys_and_hits(backend: Backend, names: Names) -> None:
    await backend.set(names.key("i"), b"v", None)
    await backend.get(names.key("i"))
    info = await backend.info()
    assert isinstance(info["database_keys"], int)
    assert info["database_keys"] >= 1
    assert isinstance(info["keyspace_hits"], int)
    assert info["keyspace_hits"] >= 1
    assert "keyspace_misses" in info
    assert "used_memory" in info
    assert info["mode"] in {"memory", "standalone", "cluster"}


async def test_ping_and_close_are_idempotent(backend: Backend) -> None:
    await backend.ping()
    await backend.close()
    await backend.close()
