"""A loader's exceptions reach the caller unchanged (issue 15, DESIGN section 2).

On memory and on a private Redis: ``get``, ``get_many``, ``refresh``, ``warmup`` and
``@cached`` let the user's own exception through as the same object (type, traceback),
with a note naming the key; stale-on-error still serves the stale value.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator

import pytest

import cachewright
from cachewright import Cache, CacheAside, cached
from tests._servers import wait_until_async
from tests.patterns._aside_support import BACKENDS, User, open_cache


class UserNotFound(Exception):
    """A business exception, as a repository would raise it."""


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


class Repository:
    """Raises ``UserNotFound`` for the ids in ``absent``; remembers what it raised."""

    def __init__(self, absent: set[int]) -> None:
        self.absent = absent
        self.raised: dict[int, UserNotFound] = {}

    async def get_user(self, user_id: int) -> User:
        if user_id in self.absent:
            error = UserNotFound(user_id)
            self.raised[user_id] = error
            raise error
        return User(id=user_id, name=f"u{user_id}")


def last_frame(error: BaseException) -> str:
    return traceback.extract_tb(error.__traceback__)[-1].name


def test_loader_error_is_gone_from_the_public_api() -> None:
    assert not hasattr(cachewright, "LoaderError")
    assert not hasattr(cachewright.errors, "LoaderError")


async def test_get_raises_the_loaders_own_exception_with_the_key_noted(cache: Cache) -> None:
    repo = Repository(absent={404})
    async with CacheAside(cache, loader=repo.get_user, key="user:{}", type=User) as users:
        with pytest.raises(UserNotFound) as caught:
            await users.get(404)
        assert caught.value is repo.raised[404]
        assert last_frame(caught.value) == "get_user"  # the loader's traceback, kept
        assert caught.value.__cause__ is None
        assert caught.value.__notes__ == [
            "cachewright: while loading key 404 (cache key 'user:404')"
        ]
        # Nothing cached, and the next call asks the loader again.
        assert await cache.lookup("user:404") is None
        repo.absent.clear()
        assert await users.get(404) == User(id=404, name="u404")


async def test_get_many_raises_the_first_failure_and_caches_the_rest(cache: Cache) -> None:
    repo = Repository(absent={2, 4})
    async with CacheAside(cache, loader=repo.get_user, key="user:{}", type=User) as users:
        with pytest.raises(UserNotFound) as caught:
            await users.get_many([1, 2, 3, 4])
        assert caught.value is repo.raised[2]
        assert last_frame(caught.value) == "get_user"
        notes = caught.value.__notes__
        assert notes[0] == "cachewright: while loading key 2 (cache key 'user:2')"
        assert "2 of 4 keys failed to load (also 4)" in notes[1]
        assert await cache.get("user:1", User) == User(id=1, name="u1")
        assert await cache.get("user:3", User) == User(id=3, name="u3")


async def test_refresh_raises_the_loaders_exception_and_keeps_the_entry(cache: Cache) -> None:
    repo = Repository(absent=set())
    async with CacheAside(cache, loader=repo.get_user, key="user:{}", type=User) as users:
        assert await users.get(5) == User(id=5, name="u5")
        repo.absent.add(5)
        with pytest.raises(UserNotFound) as caught:
            await users.refresh(5)
        assert caught.value is repo.raised[5]
        assert "key 5" in caught.value.__notes__[0]
        assert await cache.get("user:5", User) == User(id=5, name="u5")


async def test_warmup_reports_the_original_exception_objects(cache: Cache) -> None:
    repo = Repository(absent={3})
    async with CacheAside(cache, loader=repo.get_user, key="user:{}", type=User) as users:
        report = await users.warmup([1, 2, 3])
        assert report.loaded == 2
        assert dict(report.failed) == {3: repo.raised[3]}
        assert isinstance(report.failed[3], UserNotFound)


async def test_a_cached_functions_key_error_stays_a_key_error(cache: Cache) -> None:
    prices = {"apple": 3}

    @cached(cache, ttl=60)
    async def price(name: str) -> int:
        return prices[name]

    assert await price("apple") == 3
    with pytest.raises(KeyError) as caught:
        await price("pear")
    assert caught.value.args == ("pear",)
    assert last_frame(caught.value) == "price"
    assert price.key("pear") in caught.value.__notes__[0]
    with pytest.raises(KeyError):
        await price.refresh("pear")


async def test_stale_on_error_still_serves_the_stale_value(cache: Cache) -> None:
    repo = Repository(absent=set())
    async with CacheAside(
        cache, loader=repo.get_user, key="user:{}", type=User, ttl=0.05, stale_ttl=60
    ) as users:
        assert await users.get(1) == User(id=1, name="u1")
        repo.absent.add(1)

        async def stale() -> bool:
            entry = await cache.get_entry("user:1", User)
            return entry is not None and entry.stale

        await wait_until_async(stale, timeout=5)
        entry = await users.get_entry(1)
        assert entry.stale
        assert entry.value == User(id=1, name="u1")

        async def refresh_failed() -> bool:
            return (await users.stats()).load_errors >= 1

        await wait_until_async(refresh_failed, timeout=5)
        assert await users.get(1) == User(id=1, name="u1")  # still served while it fails
