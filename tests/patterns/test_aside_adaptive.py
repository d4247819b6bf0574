"""Issue 19 on CacheAside: adaptive caching (``Cached``) and conditional refresh
(``refresh_loader`` answering ``NotModified``), on memory and a private Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from cachewright import (
    Cache,
    Cached,
    ConfigurationError,
    Entry,
    Event,
    EventKind,
    LoaderTimeout,
    NotModified,
    NotModifiedType,
    cached,
)
from cachewright.patterns.aside.cache_aside import CacheAside
from tests._servers import wait_until_async
from tests.patterns._aside_support import BACKENDS, Gate, User, open_cache


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Cache]:
    async with open_cache(request.param, namespace, request) as instance:
        yield instance


async def adaptive(key: int) -> User | Cached[User] | None:
    """Even ids live 5 s, odd ones an hour and carry the tag "odd", negatives are not cached."""
    user = User(id=key, name=f"u{key}")
    if key < 0:
        return Cached.skip(user)
    if key % 2 == 0:
        return Cached(user, ttl=5)
    return Cached(user, ttl=3600, tags=["odd"])


# -- adaptive caching -----------------------------------------------------------------


async def test_the_loader_chooses_each_values_ttl(cache: Cache) -> None:
    async with CacheAside(cache, loader=adaptive, key="user:{}", type=User, ttl=60) as users:
        assert await users.get(2) == User(id=2, name="u2")
        assert await users.get(3) == User(id=3, name="u3")
        short, long = await cache.ttl("user:2"), await cache.ttl("user:3")
        assert short is not None
        assert 0 < short <= 5
        assert long is not None
        assert 3000 < long <= 3600


async def test_added_tags_index_the_entry_and_skip_is_not_cached(cache: Cache) -> None:
    calls: list[int] = []

    async def load(key: int) -> User | Cached[User] | None:
        calls.append(key)
        return await adaptive(key)

    async with CacheAside(
        cache, loader=load, key="user:{}", type=User, ttl=60, tags=["users"]
    ) as users:
        assert await users.get(-1) == User(id=-1, name="u-1")
        assert await users.get(-1) == User(id=-1, name="u-1")
        assert calls == [-1, -1]  # skipped: never cached
        assert await cache.exists("user:-1") is False

        await users.get(3)
        entry = await cache.get_entry("user:3", User)
        assert entry is not None
        assert entry.tags == ("users", "odd")
        assert await cache.invalidate_tags("odd") == 1
        assert await cache.exists("user:3") is False


@pytest.mark.parametrize("batch_fill", ["safe", "fast"])
async def test_batch_reads_unwrap_and_adapt_each_value(cache: Cache, batch_fill: Any) -> None:
    async with CacheAside(
        cache, loader=adaptive, key="user:{}", type=User, ttl=60, batch_fill=batch_fill
    ) as users:
        found = await users.get_many([2, 3, -1])
        assert found == {
            2: User(id=2, name="u2"),
            3: User(id=3, name="u3"),
            -1: User(id=-1, name="u-1"),
        }
        short, long = await cache.ttl("user:2"), await cache.ttl("user:3")
        assert short is not None
        assert short <= 5
        assert long is not None
        assert long > 3000
        assert await cache.exists("user:-1") is False
        assert await users.refresh(2) == User(id=2, name="u2")  # unwrapped too


@pytest.mark.parametrize("batch_fill", ["safe", "fast"])
async def test_warmup_adapts_each_value(cache: Cache, batch_fill: Any) -> None:
    async with CacheAside(
        cache, loader=adaptive, key="user:{}", type=User, ttl=60, batch_fill=batch_fill
    ) as users:
        report = await users.warmup([2, 3, -1])
        assert report.loaded == 3
        await _assert_adapted(cache)


async def _assert_adapted(cache: Cache) -> None:
    """What ``adaptive`` chose for 2 (5 s), 3 (an hour, tag "odd") and -1 (not cached)."""
    short, long = await cache.ttl("user:2"), await cache.ttl("user:3")
    assert short is not None
    assert 0 < short <= 5
    assert long is not None
    assert long > 3000
    assert await cache.exists("user:-1") is False
    assert await cache.invalidate_tags("odd") == 1


async def test_every_reload_adapts_refresh_stale_soft_and_hard_timeouts(cache: Cache) -> None:
    """``refresh()``, a refresh that outlives ``soft_timeout`` and a load that outlives
    ``hard_timeout`` all write the ttl the loader chose for that value (the pattern's
    ttl is 0.05 s, the loader's an hour). Held loads wait at a gate: no timing matters."""
    answers: dict[int, Any] = {}

    async def load(key: int) -> User | Cached[User] | None:
        result = answers.get(key, User(id=key, name="plain"))
        if isinstance(result, Gate):
            await result.pass_through()
            return Cached(User(id=key, name="late"), ttl=3600)
        return result  # type: ignore[no-any-return]

    options: dict[str, Any] = {"loader": load, "key": "user:{}", "type": User, "ttl": 0.05}
    async with CacheAside(cache, stale_ttl=60, soft_timeout=0.01, **options) as users:
        for key in (1, 2):
            assert await users.get(key) == User(id=key, name="plain")
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=5)
        await wait_until_async(lambda: _stale(cache, "user:2"), timeout=5)
        answers[1] = Cached(User(id=1, name="refreshed"), ttl=3600)
        assert await users.refresh(1) == User(id=1, name="refreshed")
        assert await _life(cache, "user:1") > 3000
        answers[2] = gate = Gate()
        served = await users.get_entry(2)  # soft_timeout: the stale value, the load goes on
        assert served.stale
        gate.open()
        await wait_until_async(lambda: _name(cache, "user:2"), expect="late", timeout=10)
        assert await _life(cache, "user:2") > 3000
    async with CacheAside(cache, hard_timeout=0.05, **options) as users:
        answers[3] = gate = Gate()
        with pytest.raises(LoaderTimeout):
            await users.get(3)
        gate.open()
        await wait_until_async(lambda: _name(cache, "user:3"), expect="late", timeout=10)
        assert await _life(cache, "user:3") > 3000


async def _life(cache: Cache, key: str) -> float:
    remaining = await cache.ttl(key)
    assert remaining is not None
    return remaining


async def _name(cache: Cache, key: str) -> str | None:
    user = await cache.get(key, User)
    return None if user is None else user.name


async def test_a_cached_function_adapts_on_refresh(cache: Cache) -> None:
    fresh = True

    @cached(cache, ttl=60, key="article:{n}")
    async def article(n: int) -> User | Cached[User]:
        return Cached(User(id=n, name="a"), ttl=5 if fresh else 86_400)

    assert await article(1) == User(id=1, name="a")
    assert await _life(cache, "article:1") <= 5
    fresh = False
    await article.refresh(1)
    assert await _life(cache, "article:1") > 80_000


async def test_cached_functions_read_the_type_inside_cached(cache: Cache) -> None:
    @cached(cache, ttl=60, key="article:{n}")
    async def article(n: int) -> Cached[User]:
        return (
            Cached(User(id=n, name="old"), ttl=86_400)
            if n < 10
            else Cached.skip(User(id=n, name="new"))
        )

    assert await article(1) == User(id=1, name="old")
    assert await cache.get("article:1", User) == User(id=1, name="old")
    remaining = await cache.ttl("article:1")
    assert remaining is not None
    assert remaining > 80_000
    assert await article(11) == User(id=11, name="new")
    assert await cache.exists("article:11") is False


def test_cached_refuses_a_bad_ttl() -> None:
    with pytest.raises(ConfigurationError):
        Cached(1, ttl=0)


# -- conditional refresh --------------------------------------------------------------


class Conditional:
    """A refresh loader that sees the stale entry and answers NotModified (or a value)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, Any]] = []
        self.changed: User | None = None

    async def __call__(self, key: int, stale: Entry[User]) -> User | NotModifiedType:
        self.seen.append((key, stale.value))
        return NotModified if self.changed is None else self.changed


async def _fresh(cache: Cache, key: str) -> bool:
    entry = await cache.get_entry(key)
    return entry is not None and not entry.stale


async def _stale(cache: Cache, key: str) -> bool:
    entry = await cache.get_entry(key)
    return entry is not None and entry.stale


async def test_not_modified_extends_the_entry_without_a_new_value(cache: Cache) -> None:
    loads: list[int] = []
    events: list[Event] = []
    cache.events.subscribe(events.append)

    async def load(key: int) -> User:
        loads.append(key)
        return User(id=key, name="v1")

    conditional = Conditional()
    async with CacheAside(
        cache,
        loader=load,
        key="user:{}",
        type=User,
        ttl=2,
        stale_ttl=60,
        refresh_loader=conditional,
    ) as users:
        await users.get(1)
        first = await cache.get_entry("user:1", User)
        assert first is not None
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=10)

        served = await users.get_entry(1)  # stale: refreshed in the background
        assert served.stale is True
        await wait_until_async(lambda: _fresh(cache, "user:1"), timeout=10)

        after = await cache.get_entry("user:1", User)
        assert after is not None
        assert after.value == User(id=1, name="v1")
        assert conditional.seen == [(1, User(id=1, name="v1"))]
        assert loads == [1]  # the full loader ran once, at the first miss
        assert first.expires_at is not None
        assert after.expires_at is not None
        assert after.expires_at > first.expires_at  # its life was extended
        stats = await users.stats()
        assert stats.fills == 1  # no new value was filled
        assert stats.extended == 1
        assert EventKind.NOT_MODIFIED in [event.kind for event in events]


async def test_a_changed_value_from_the_refresh_loader_replaces_the_entry(cache: Cache) -> None:
    conditional = Conditional()

    async def load(key: int) -> User:
        return User(id=key, name="v1")

    async with CacheAside(
        cache,
        loader=load,
        key="user:{}",
        type=User,
        ttl=0.05,
        stale_ttl=60,
        soft_timeout=30,
        refresh_loader=conditional,
    ) as users:
        await users.get(1)
        await wait_until_async(lambda: _stale(cache, "user:1"), timeout=10)
        conditional.changed = User(id=1, name="v2")
        served = await users.get_entry(1)  # soft_timeout: waits for the refresh
        assert served.value == User(id=1, name="v2")
        assert served.stale is False
        assert await cache.get("user:1", User) == User(id=1, name="v2")
