"""The tags of a write, worked out once per tag set (cachewright.cache._tagging).

Whatever the memo keeps, a write's tags reach both the tag indexes and the entry
(``Entry.tags``, which ``touch`` reads to re-time the indexes), and bad tags raise
``InvalidKey`` every time they are given.
"""

from __future__ import annotations

import pytest

from cachewright import Cache
from cachewright.cache._tagging import KEPT, Tagging
from cachewright.cache.keys import KeyBuilder
from cachewright.errors import InvalidKey


async def test_tags_given_as_a_generator_reach_the_entry_and_every_index(cache: Cache) -> None:
    await cache.set("g", 1, ttl=60, tags=(tag for tag in ["a", "b", "a"]))
    entry = await cache.get_entry("g")
    assert entry is not None
    assert entry.tags == ("a", "b")
    assert await cache.invalidate_tags("b") == 1
    assert await cache.get("g") is None


@pytest.mark.parametrize("tags", [["ok", ""], [1], ["ok", None], 7])
async def test_bad_tags_raise_every_time_and_write_nothing(cache: Cache, tags: object) -> None:
    for _ in range(2):  # the second time would come from the memo, if it kept failures
        with pytest.raises(InvalidKey):
            await cache.set("bad", 1, ttl=60, tags=tags)  # type: ignore[arg-type]
    assert await cache.get("bad") is None


async def test_the_same_tag_set_as_str_list_or_tuple_indexes_alike(cache: Cache) -> None:
    await cache.set("s", 1, ttl=60, tags="t")
    await cache.set("l", 2, ttl=60, tags=["t", "u"])
    await cache.set("t", 3, ttl=60, tags=("t", "u"))
    await cache.set("l2", 4, ttl=60, tags=["t", "u"])  # the memo's answer, reused
    assert await cache.invalidate_tags(["u"]) == 3
    assert await cache.invalidate_tags("t") == 1


def test_the_memo_keeps_at_most_kept_tag_sets() -> None:
    tagging = Tagging(KeyBuilder("ns"))
    for i in range(KEPT * 2 + 5):
        keys, names = tagging.of([f"t{i}", "common"])
        assert keys == (f"ns~tag:t{i}", "ns~tag:common")
        assert names == (f"t{i}", "common")
        assert len(tagging._known) <= KEPT
    assert tagging.of(None) == ((), ())
