"""``@cached``: stable keys, refused arguments, invalidate/refresh, methods, typing."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import assert_type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from cachewright import Cache, ConfigurationError, InvalidKey
from cachewright.patterns.aside._callkey import CallKey
from cachewright.patterns.aside.cached import cached
from tests.patterns._aside_support import BACKENDS, User, open_cache


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclasses.dataclass
class MutablePoint:
    x: int


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: int


class Mutable(BaseModel):
    id: int


PREFIX = f"{__name__}"


async def test_results_are_cached_and_decoded_from_the_annotation(cache: Cache) -> None:
    runs: list[int] = []

    @cached(cache, ttl=60)
    async def load_user(user_id: int) -> User:
        runs.append(user_id)
        return User(id=user_id, name="ada")

    first = await load_user(1)
    second = await load_user(1)
    assert_type(second, User)
    assert first == second == User(id=1, name="ada")
    assert isinstance(second, User)  # decoded as the annotation says, not a dict
    assert runs == [1]
    assert await load_user.invalidate(1) is True
    assert await load_user(user_id=1) == User(id=1, name="ada")
    assert runs == [1, 1]
    await load_user.close()


async def test_keys_are_stable_and_equal_for_equal_calls(cache: Cache) -> None:
    @cached(cache)
    async def search(term: str, limit: int = 10, *, exact: bool = False) -> list[int]:
        return []

    qualname = f"{PREFIX}.test_keys_are_stable_and_equal_for_equal_calls.<locals>.search"
    assert search.key("shoe") == f'{qualname}:["shoe",10,false]'
    assert search.key("shoe") == search.key("shoe", 10) == search.key(term="shoe", limit=10)
    assert search.key("shoe") == search.key("shoe", exact=False)
    assert search.key("shoe", 11) != search.key("shoe", 10)

    @cached(cache, prefix="keys")
    async def anything(*values: object, **options: object) -> None:
        return None

    keys = {
        anything.key(1),
        anything.key("1"),
        anything.key(1.0),
        anything.key(True),
        anything.key(None),
        anything.key(b"1"),
        anything.key((1,)),
        anything.key(frozenset({1})),
        anything.key(Decimal("1")),
    }
    assert len(keys) == 9  # no two of these values share a key
    assert anything.key(frozenset({3, 1, 2})) == anything.key(frozenset({2, 3, 1}))
    assert anything.key(a=1, b=2) == anything.key(b=2, a=1)
    assert (
        anything.key(Color.RED)
        == 'keys:[[{"enum":"tests.patterns.test_cached.Color","name":"RED"}],{}]'
    )
    assert anything.key(Point(1, 2)) == anything.key(Point(1, 2))
    assert anything.key(Point(1, 2)) != anything.key(Point(2, 1))
    assert anything.key(Frozen(id=1)) != anything.key(Frozen(id=2))
    some_id = uuid.UUID(int=5)
    assert anything.key(some_id, date(2024, 1, 2)) == (
        'keys:[[{"uuid":"00000000-0000-0000-0000-000000000005"},{"date":"2024-01-02"}],{}]'
    )
    long_key = anything.key("x" * 500)
    assert long_key.startswith("keys:#")
    assert len(long_key) < 100


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"a": 1}, "dict"),
        ([1, 2], "list"),
        ({1, 2}, "set"),
        (object(), "object"),
        (MutablePoint(1), "mutable dataclass"),
        (Mutable(id=1), "mutable pydantic model"),
        ((1, [2]), "list"),
    ],
)
async def test_unstable_arguments_are_refused(cache: Cache, value: object, reason: str) -> None:
    @cached(cache)
    async def load(arg: object) -> int:
        return 1

    with pytest.raises(InvalidKey, match=reason.split()[0]):
        await load(value)
    with pytest.raises(InvalidKey):
        load.key(value)


async def test_a_key_function_or_template_makes_any_argument_usable(cache: Cache) -> None:
    @cached(cache, key=lambda filters: "filtered:" + ",".join(sorted(filters)))
    async def search(filters: dict[str, str]) -> int:
        return len(filters)

    assert await search({"b": "2", "a": "1"}) == 2
    assert search.key({"a": "1", "b": "2"}) == "filtered:a,b"

    @cached(cache, key="product:{product_id}")
    async def load_product(product_id: int, verbose: bool = False) -> int:
        return product_id

    assert load_product.key(7) == "product:7"
    assert await load_product(7) == 7
    assert await cache.get("product:7") == 7

    with pytest.raises(ConfigurationError, match="not a parameter"):

        @cached(cache, key="product:{id}")
        async def wrong(product_id: int) -> int:
            return product_id


async def test_methods_skip_self_and_bind_like_methods(cache: Cache) -> None:
    class Repo:
        def __init__(self) -> None:
            self.runs: list[int] = []

        @cached(cache, ttl=60, tags=["users"])
        async def get(self, user_id: int) -> User | None:
            self.runs.append(user_id)
            return None if user_id < 0 else User(id=user_id, name="grace")

    repo, other = Repo(), Repo()
    assert_type(await repo.get(1), User | None)
    assert await repo.get(1) == User(id=1, name="grace")
    assert await other.get(1) == User(id=1, name="grace")  # instances share entries
    assert repo.runs == [1]
    assert other.runs == []
    assert await Repo.get(repo, 1) == User(id=1, name="grace")
    assert repo.get.key(1) == Repo.get.key(repo, 1)
    assert repo.get.key(1).endswith("Repo.get:[1]")  # no trace of the instance
    assert await repo.get.invalidate(1) is True
    assert await repo.get(1) == User(id=1, name="grace")
    assert repo.runs == [1, 1]
    # A None result is cached too (cache_none defaults to True for @cached).
    assert await repo.get(-1) is None
    assert await repo.get(-1) is None
    assert repo.runs == [1, 1, -1]
    assert await cache.invalidate_tags("users") == 2
    wrapped = Repo.get.__wrapped__  # type: ignore[attr-defined]
    assert inspect.signature(Repo.get) == inspect.signature(wrapped)


async def test_refresh_runs_the_function_again(cache: Cache) -> None:
    version = 1

    @cached(cache)
    async def current(name: str) -> str:
        return f"{name}-{version}"

    assert await current("a") == "a-1"
    version = 2
    assert await current("a") == "a-1"
    assert await current.refresh("a") == "a-2"
    assert await current("a") == "a-2"


async def test_concurrent_calls_run_the_function_once(cache: Cache) -> None:
    runs = 0
    started = asyncio.Event()
    release = asyncio.Event()

    @cached(cache)
    async def slow(n: int) -> int:
        nonlocal runs
        runs += 1
        started.set()
        await release.wait()
        return n * 2

    calls = [asyncio.create_task(slow(21)) for _ in range(200)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*calls) == [42] * 200
    assert runs == 1


async def test_a_failing_function_raises_its_own_error_and_is_retried(cache: Cache) -> None:
    attempts = 0

    @cached(cache)
    async def flaky(n: int) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ValueError("first call fails")
        return n

    with pytest.raises(ValueError, match="first call fails"):
        await flaky(1)
    assert await flaky(1) == 1


async def test_explicit_type_wins_over_the_annotation(cache: Cache) -> None:
    @cached(cache, type=dict[str, int])
    async def counts() -> dict[str, int]:
        return {"a": 1}

    assert await counts() == {"a": 1}
    assert await counts() == {"a": 1}


def test_misuse_is_refused() -> None:
    cache = Cache.from_url("memory://")
    with pytest.raises(ConfigurationError, match="async"):

        @cached(cache)  # type: ignore[arg-type]
        def not_async(n: int) -> int:
            return n

    with pytest.raises(ConfigurationError, match="below @classmethod"):

        class Wrong:
            @cached(cache)
            @classmethod
            async def load(cls, n: int) -> int:
                return n


async def test_an_unresolvable_annotation_asks_for_type(cache: Cache) -> None:
    @cached(cache)
    async def load(n: int) -> NotDefinedAnywhere:  # type: ignore[name-defined]  # noqa: F821
        return n

    with pytest.raises(ConfigurationError, match="pass type="):
        await load(1)


def _typed(value: object) -> object:
    """Structure and types of a value: what a key must tell apart (repr keeps -0.0)."""
    if isinstance(value, tuple):
        return ("tuple", tuple(_typed(item) for item in value))
    return (type(value).__name__, repr(value))


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.binary(max_size=5)
    | st.floats(allow_nan=False)
)
_values = st.recursive(_scalars, lambda inner: st.tuples(inner, inner), max_leaves=6)


async def _one(value: object) -> None:
    return None


_ONE = CallKey(_one, prefix="one")


@settings(max_examples=300, deadline=None)
@given(first=_values, second=_values)
def test_two_calls_share_a_key_exactly_when_their_arguments_are_the_same(
    first: object, second: object
) -> None:
    same_key = _ONE.key((first,), {}) == _ONE.key((second,), {})
    assert same_key == (_typed(first) == _typed(second))


def test_keys_do_not_depend_on_the_process_hash_seed() -> None:
    """String hashes change between processes; keys must not (frozenset order)."""
    script = "from tests.patterns.test_cached import _sample_key; print(_sample_key())"
    keys = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout.strip()
        for seed in (1, 2, 3)
    }
    assert keys == {_sample_key()}


def _sample_key() -> str:
    builder = CallKey(_sample, prefix="sample")
    return builder.key((frozenset({"alpha", "beta", "gamma", "delta"}), Point(1, 2)), {})


async def _sample(tags: frozenset[str], where: Point) -> None:
    return None
