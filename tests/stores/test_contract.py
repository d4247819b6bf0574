"""The data-store contract, run against every store (see ``conftest.store``)."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachewright.stores import DataStore
from tests.stores._models import Address, Profile, profile

Store = DataStore[str, Profile | None]


def test_every_store_satisfies_the_protocol(store: Store) -> None:
    assert isinstance(store, DataStore)


async def test_get_of_a_missing_key_is_none(store: Store) -> None:
    assert await store.get("missing") is None
    assert await store.exists("missing") is False


async def test_set_then_get_round_trips_a_model(store: Store) -> None:
    value = profile(1)
    await store.set("user:1", value)

    assert await store.get("user:1") == value
    assert await store.exists("user:1") is True


async def test_set_is_an_idempotent_upsert(store: Store) -> None:
    await store.set("k", profile(1))
    await store.set("k", profile(1, name="renamed"))
    await store.set("k", profile(1, name="renamed"))  # delivered twice (write-behind)

    assert await store.get("k") == profile(1, name="renamed")
    assert await store.get_many(["k"]) == {"k": profile(1, name="renamed")}


async def test_delete_removes_and_deleting_a_missing_key_is_fine(store: Store) -> None:
    await store.set("k", profile(1))
    await store.set("other", profile(2))

    await store.delete("k")
    await store.delete("k")
    await store.delete("never-existed")

    assert await store.get("k") is None
    assert await store.exists("k") is False
    assert await store.get("other") == profile(2)


async def test_get_many_returns_hits_only(store: Store) -> None:
    await store.set_many({"a": profile(1), "b": profile(2)})

    hits = await store.get_many(["a", "missing", "b", "a"])

    assert dict(hits) == {"a": profile(1), "b": profile(2)}


async def test_set_many_upserts_and_delete_many_removes(store: Store) -> None:
    await store.set_many({"a": profile(1), "b": profile(2)})
    await store.set_many({"b": profile(2, name="new b"), "c": profile(3)})

    assert dict(await store.get_many(["a", "b", "c"])) == {
        "a": profile(1),
        "b": profile(2, name="new b"),
        "c": profile(3),
    }

    await store.delete_many(["a", "c", "never-existed"])

    assert dict(await store.get_many(["a", "b", "c"])) == {"b": profile(2, name="new b")}
    assert await store.exists("a") is False


async def test_empty_batches_do_nothing(store: Store) -> None:
    await store.set("kept", profile(1))

    assert dict(await store.get_many([])) == {}
    await store.set_many({})
    await store.delete_many([])

    assert await store.get("kept") == profile(1)


async def test_a_stored_none_is_told_apart_from_a_miss(store: Store) -> None:
    await store.set("nothing", None)

    assert await store.get("nothing") is None
    assert await store.exists("nothing") is True
    assert await store.exists("missing") is False
    assert dict(await store.get_many(["nothing", "missing"])) == {"nothing": None}


async def test_unusual_keys_are_distinct(store: Store) -> None:
    keys = ["", " ", "ü", "🎉", "a'b\"c;--", "x" * 500, "K", "k"]
    await store.set_many({key: profile(n) for n, key in enumerate(keys)})

    assert dict(await store.get_many(keys)) == {key: profile(n) for n, key in enumerate(keys)}


async def test_a_large_batch_round_trips(store: Store) -> None:
    items = {f"user:{n}": profile(n) for n in range(5_000)}

    await store.set_many(items)
    assert dict(await store.get_many(list(items))) == items

    await store.delete_many(list(items)[::2])
    remaining = await store.get_many(list(items))
    assert dict(remaining) == {key: items[key] for key in list(items)[1::2]}


profiles = st.builds(
    Profile,
    id=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    name=st.text(),
    email=st.none() | st.emails(),
    tags=st.lists(st.text(max_size=10), max_size=5),
    score=st.floats(allow_nan=False, allow_infinity=False),
    joined=st.none() | st.datetimes(timezones=st.just(UTC)),
    address=st.none() | st.builds(Address, city=st.text(), postcode=st.none() | st.text()),
    counters=st.dictionaries(st.text(max_size=8), st.integers(-(2**31), 2**31), max_size=4),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(key=st.text(st.characters(exclude_characters="\x00"), max_size=40), value=profiles)
async def test_any_key_and_value_round_trip(store: Store, key: str, value: Profile) -> None:
    await store.set(key, value)
    assert await store.get(key) == value
    assert dict(await store.get_many([key])) == {key: value}
    await store.delete(key)
    assert await store.get(key) is None


@pytest.mark.parametrize("batch", [1, 2, 17])
async def test_batches_and_single_calls_agree(store: Store, batch: int) -> None:
    items = {f"k{n}": profile(n) for n in range(batch)}
    await store.set_many(items)

    for key, value in items.items():
        assert await store.get(key) == value
        assert await store.exists(key)
