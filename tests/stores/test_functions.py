"""FunctionStore: wrapping an existing repository's async functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from cachewright.errors import InvalidKey, StoreError
from cachewright.stores import FunctionStore, store_from_functions
from tests.stores._models import DictRepository, Profile, profile


class BatchRepository(DictRepository):
    """A repository with its own batch functions, recording how it was called."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def find(self, key: str) -> Profile | None:
        self.calls.append("find")
        return await super().find(key)

    async def find_many(self, keys: Sequence[str]) -> Mapping[str, Profile]:
        self.calls.append("find_many")
        return {key: value for key in keys if (value := self.rows.get(key)) is not None}

    async def save_many(self, items: Mapping[str, Profile]) -> None:
        self.calls.append("save_many")
        self.rows.update(items)

    async def remove_many(self, keys: Sequence[str]) -> None:
        self.calls.append("remove_many")
        for key in keys:
            self.rows.pop(key, None)


async def test_the_repository_batch_functions_are_used_when_given() -> None:
    repo = BatchRepository()
    store = store_from_functions(
        get=repo.find,
        set=repo.save,
        delete=repo.remove,
        get_many=repo.find_many,
        set_many=repo.save_many,
        delete_many=repo.remove_many,
    )

    await store.set_many({"a": profile(1), "b": profile(2)})
    assert await store.get_many(["a", "b", "c"]) == {"a": profile(1), "b": profile(2)}
    await store.delete_many(["a"])
    await store.set_many({})  # an empty batch never reaches the repository

    assert repo.calls == ["save_many", "find_many", "remove_many"]
    assert repo.rows == {"b": profile(2)}


async def test_missing_functions_fall_back_to_the_single_key_ones() -> None:
    repo = BatchRepository()
    store = FunctionStore(get=repo.find, set=repo.save, delete=repo.remove)

    await store.set_many({"a": profile(1), "b": profile(2)})
    assert await store.exists("a") is True  # no exists: a get
    assert await store.exists("zzz") is False
    assert await store.get_many(["a", "b"]) == {"a": profile(1), "b": profile(2)}
    await store.delete_many(["a", "b"])

    assert repo.rows == {}
    assert repo.calls == ["find", "find", "find", "find"]


async def test_errors_of_the_repository_become_store_errors() -> None:
    async def broken_get(key: str) -> Profile | None:
        raise RuntimeError(f"db down, dsn=postgresql://app:hunter2@db/x, key={key}")

    repo = DictRepository()
    store = store_from_functions(get=broken_get, set=repo.save, delete=repo.remove)

    with pytest.raises(StoreError, match="broken_get") as caught:
        await store.get("k")
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(StoreError):
        await store.get_many(["k"])  # the fallback goes through the wrapped get


async def test_cachewright_errors_pass_through_unwrapped() -> None:
    async def strict_get(key: str) -> Profile | None:
        raise InvalidKey(f"bad key {key!r}")

    repo = DictRepository()
    store = store_from_functions(get=strict_get, set=repo.save, delete=repo.remove)

    with pytest.raises(InvalidKey):
        await store.get("k")


async def test_a_failing_batch_function_is_wrapped_too() -> None:
    async def save_many(items: Mapping[str, Profile]) -> None:
        raise ConnectionResetError("peer went away")

    repo = DictRepository()
    store = store_from_functions(
        get=repo.find, set=repo.save, delete=repo.remove, set_many=save_many
    )

    with pytest.raises(StoreError, match=r"set_many .*ConnectionResetError"):
        await store.set_many({"a": profile(1)})
