"""CacheAside, WriteThrough, WriteBehind and @cached on the sync API, over a repository
on SQLAlchemy's synchronous engine (a SQLite file and the PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from tenacity import stop_after_attempt, wait_none

from cachewright import ConfigurationError, InvalidKey, RetryPolicy, TypeMismatch
from cachewright.sync import Cache, CacheAside, WriteBehind, WriteThrough, cached
from tests._servers import wait_until
from tests.stores._models import Profile, profile
from tests.sync._support import ProfileRepository


def test_cache_aside_loads_once_then_hits(sync_cache: Cache, repository: ProfileRepository) -> None:
    repository.set_many({1: profile(1), 2: profile(2)})
    repository.threads.clear()
    users: CacheAside[int, Profile] = CacheAside(
        sync_cache, loader=repository, key="user:{}", type=Profile, ttl=60
    )
    with users:
        assert users.get(1) == profile(1)
        assert users.get(1) == profile(1)
        assert repository.calls["get"] == 1
        assert users.get(404) is None

        assert users.get_many([1, 2, 3]) == {1: profile(1), 2: profile(2)}
        assert repository.calls["get_many"] == 1  # 2 and 3 in one batch

        assert users.invalidate(1) is True
        assert users.get(1) == profile(1)
        assert repository.calls["get"] == 3
    assert repository.threads
    assert all(name.startswith("cachewright-sync-worker") for name in repository.threads)


def test_cache_aside_warmup_and_refresh(sync_cache: Cache, repository: ProfileRepository) -> None:
    repository.set_many({n: profile(n) for n in range(1, 21)})
    users: CacheAside[int, Profile] = CacheAside(
        sync_cache, loader=repository, key="user:{}", type=Profile
    )
    seen: list[tuple[int, int]] = []

    report = users.warmup(range(1, 23), batch_size=5, progress=lambda d, t: seen.append((d, t)))

    assert (report.loaded, report.missing, report.failed) == (20, 2, {})
    assert seen[-1] == (22, 22)
    assert users.cache_key(3) == "user:3"
    repository.set(3, profile(3, name="renamed"))
    assert users.get(3) == profile(3)  # cached
    assert users.refresh(3) == profile(3, name="renamed")
    assert users.get(3) == profile(3, name="renamed")
    users.close()


def test_write_through_keeps_cache_and_database_in_step(
    sync_cache: Cache, repository: ProfileRepository
) -> None:
    profiles: WriteThrough[int, Profile] = WriteThrough(
        sync_cache, repository, key="profile:{}", type=Profile, ttl=60
    )

    profiles.set(1, profile(1))
    profiles.set_many({2: profile(2), 3: profile(3)})

    assert repository.rows() == {1: profile(1), 2: profile(2), 3: profile(3)}
    assert sync_cache.get("profile:2", Profile) == profile(2)
    assert profiles.get(1) == profile(1)
    assert profiles.get_many([1, 2, 9]) == {1: profile(1), 2: profile(2)}
    profiles.delete(1)
    profiles.delete_many([2])
    assert repository.rows() == {3: profile(3)}
    assert profiles.get(1) is None
    assert profiles.exists(3) is True


def test_write_through_store_failure_leaves_the_cache_alone(
    sync_cache: Cache, repository: ProfileRepository
) -> None:
    """G9: the store's own error is raised unchanged (as in the async API), the cache
    untouched."""
    profiles: WriteThrough[int, Profile] = WriteThrough(
        sync_cache, repository, key="profile:{}", type=Profile
    )
    profiles.set(5, profile(5))
    repository.fail_on = 5

    with pytest.raises(RuntimeError) as caught:
        profiles.set(5, profile(5, name="new"))

    assert caught.value is repository.fail_with
    assert sync_cache.get("profile:5", Profile) == profile(5)
    assert repository.rows() == {5: profile(5)}


def test_write_behind_flushes_in_batches_and_on_close(
    sync_cache: Cache, repository: ProfileRepository
) -> None:
    """G11: every accepted write reaches the store; reads see pending writes."""
    profiles: WriteBehind[int, Profile] = WriteBehind(
        sync_cache, repository, key="profile:{}", type=Profile, flush_interval=60
    )
    with profiles:
        for n in range(1, 6):
            profiles.set(n, profile(n, name="first"))
            profiles.set(n, profile(n))  # coalesced: the store sees the last value
        profiles.delete(5)
        assert repository.rows() == {}
        assert profiles.get(1) == profile(1)
        assert profiles.get(5) is None
        assert profiles.stats().pending == 5

        report = profiles.flush()

        assert report.written == 5
        assert repository.rows() == {n: profile(n) for n in range(1, 5)}
        profiles.set(9, profile(9))
    assert repository.rows()[9] == profile(9)  # flushed by leaving the block
    assert profiles.close() is not None  # idempotent: the first report again


class CheckedProfiles(ProfileRepository):
    """A repository that declares what it can keep (G15): positive int ids, Profiles."""

    def check_key(self, key: int) -> None:
        if isinstance(key, bool) or not isinstance(key, int) or key <= 0:
            raise InvalidKey(f"profile ids are positive ints, got {key!r}")

    def check_item(self, key: int, value: Profile) -> None:
        self.check_key(key)
        if not isinstance(value, Profile):
            raise TypeMismatch(f"expected a Profile, got {type(value).__name__}")


def test_write_behind_refuses_what_a_checked_repository_cannot_keep(
    sync_cache: Cache, repository: ProfileRepository
) -> None:
    checked = CheckedProfiles(repository.engine.url.render_as_string(hide_password=False))
    profiles: WriteBehind[int, Profile] = WriteBehind(
        sync_cache, checked, key="profile:{}", type=Profile, flush_interval=60
    )
    try:
        with profiles:
            with pytest.raises(InvalidKey, match="positive ints"):
                profiles.set(-1, profile(1))
            with pytest.raises(TypeMismatch):
                profiles.set(2, "not a profile")  # type: ignore[arg-type]
            with pytest.raises(InvalidKey):
                profiles.delete(0)
            assert profiles.stats().pending == 0  # nothing was acknowledged
            profiles.set(3, profile(3))
            assert profiles.flush().written == 1
        assert checked.rows() == {3: profile(3)}
    finally:
        checked.close()


def test_write_behind_flusher_runs_in_the_background(
    sync_cache: Cache, repository: ProfileRepository
) -> None:
    profiles: WriteBehind[int, Profile] = WriteBehind(
        sync_cache, repository, key="profile:{}", type=Profile, flush_interval=0.05
    )
    profiles.set(1, profile(1))

    wait_until(lambda: 1 in repository.rows(), timeout=10)

    report = profiles.close()
    assert report is not None
    assert report.pending == 0


def test_write_behind_dead_letters_a_write_the_store_keeps_refusing(
    sync_cache: Cache, repository: ProfileRepository
) -> None:
    repository.fail_on = 2
    repository.fail_with = ValueError("constraint")
    profiles: WriteBehind[int, Profile] = WriteBehind(
        sync_cache,
        repository,
        key="profile:{}",
        type=Profile,
        flush_interval=60,
        retry=RetryPolicy(stop=stop_after_attempt(2), wait=wait_none()),
    )
    profiles.set_many({1: profile(1), 2: profile(2), 3: profile(3)})

    report = profiles.flush()

    assert (report.written, report.dead_lettered) == (2, 1)
    failed = profiles.dead_letters()
    assert [f.key for f in failed] == [2]
    assert failed[0].value == profile(2)
    repository.fail_on = None
    assert len(profiles.replay_dead_letters().requeued) == 1
    profiles.flush()
    assert repository.rows() == {1: profile(1), 2: profile(2), 3: profile(3)}
    profiles.close()


def test_cached_function_and_method(sync_cache: Cache) -> None:
    calls: list[int] = []

    @cached(sync_cache, ttl=60)
    def load(user_id: int) -> Profile:
        calls.append(user_id)
        return profile(user_id)

    class Repo:
        @cached(sync_cache, ttl=60, key="repo:{user_id}")
        def get(self, user_id: int) -> Profile | None:
            calls.append(-user_id)
            return None if user_id == 0 else profile(user_id)

    assert load(1) == profile(1)
    assert load(1) == profile(1)
    assert load.key(1).endswith("load:[1]")
    assert load.invalidate(1) is True
    assert load.refresh(1) == profile(1)
    repo = Repo()
    assert repo.get(2) == profile(2)
    assert Repo().get(2) == profile(2)  # every instance shares the entry
    assert repo.get(0) is None
    assert repo.get(0) is None  # a None is cached too
    assert repo.get.key(2) == "repo:2"
    assert calls == [1, 1, -2, 0]
    load.close()


def test_cached_failure_raises_the_functions_own_error(sync_cache: Cache) -> None:
    failure = LookupError("gone")

    @cached(sync_cache)
    def broken(n: int) -> int:
        raise failure

    with pytest.raises(LookupError) as caught:
        broken(1)
    assert caught.value is failure
    assert "cachewright: while loading key" in caught.value.__notes__[0]


def test_sync_and_async_share_keys(sync_cache: Cache) -> None:
    """The sync @cached writes the entry the async @cached of the same function reads."""

    @cached(sync_cache, ttl=60, prefix="shared.fn")
    def double(n: int) -> int:
        return 2 * n

    assert double(21) == 42
    assert sync_cache.get(double.key(21)) == 42


def test_constructors_refuse_async_callables_and_missing_methods(sync_cache: Cache) -> None:
    async def load(key: int) -> int:
        return key

    with pytest.raises(ConfigurationError, match="async"):
        CacheAside(sync_cache, loader=load, key="k:{}")
    with pytest.raises(ConfigurationError, match="plain function"):
        cached(sync_cache)(load)

    class ReadOnly:
        def get(self, key: int) -> int:
            return key

    with pytest.raises(ConfigurationError, match="set"):
        WriteThrough(sync_cache, ReadOnly(), key="k:{}", type=int)


def test_a_loader_thread_may_use_the_sync_api_itself(sync_cache: Cache) -> None:
    """A loader runs in a worker thread, not on the engine's loop: calling back is fine."""
    sync_cache.set("base", 40)

    def load(key: int) -> int:
        assert threading.current_thread().name.startswith("cachewright-sync-worker")
        return int(sync_cache.get("base")) + key

    numbers: CacheAside[int, int] = CacheAside(sync_cache, loader=load, key="n:{}", type=int)
    assert numbers.get(2) == 42
