"""Random sequences of operations against memory and Redis, compared with a plain model."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cachewright import Cache
from cachewright import Settings as CacheSettings
from tests._servers import RedisServer

KEYS = st.sampled_from(["a", "b", "c", "d", "e:1", "e:2"])
TAGS = st.lists(st.sampled_from(["red", "blue", "green"]), max_size=2, unique=True)
VALUES = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=4),
    st.dictionaries(st.text(max_size=5), st.booleans(), max_size=3),
)


def machine_for(url: str) -> type[RuleBasedStateMachine]:
    class CacheMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            namespace = f"st{uuid.uuid4().hex[:10]}"  # indexes of earlier runs never leak in
            self.cache = Cache.from_url(url, settings=CacheSettings(namespace=namespace))
            self.model: dict[str, Any] = {}
            self.tags: dict[str, set[str]] = {}
            self.counters: set[str] = set()

        def run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        def teardown(self) -> None:
            self.run(self.cache.clear())
            self.run(self.cache.close())
            self.loop.close()

        def _forget(self, key: str) -> None:
            # Tag membership is kept on purpose: an index remembers every key written
            # with the tag until the tag is invalidated (or the write expires), so an
            # invalidation may also remove a later untagged write of that key. That
            # errs on the safe side: an extra miss, never a stale read.
            self.model.pop(key, None)
            self.counters.discard(key)

        @rule(key=KEYS, value=VALUES, tags=TAGS)
        def set(self, key: str, value: Any, tags: list[str]) -> None:
            self.run(self.cache.set(key, value, ttl=600, tags=tags))
            self._forget(key)
            self.model[key] = value
            for tag in tags:
                self.tags.setdefault(tag, set()).add(key)

        @rule(key=KEYS)
        def get(self, key: str) -> None:
            entry = self.run(self.cache.get_entry(key))
            if key in self.model:
                assert entry is not None
                assert entry.value == self.model[key]
            else:
                assert entry is None

        @rule(key=KEYS)
        def delete(self, key: str) -> None:
            existed = self.run(self.cache.delete(key))
            assert existed == (key in self.model)
            self._forget(key)

        @rule(key=KEYS, amount=st.integers(-100, 100))
        def incr(self, key: str, amount: int) -> None:
            current = self.model.get(key)
            if key in self.model and key not in self.counters:
                return  # incr of an enveloped value is an error on both; not modelled
            result = self.run(self.cache.incr(key, amount))
            expected = (current or 0) + amount
            assert result == expected
            self._forget(key)
            self.model[key] = expected
            self.counters.add(key)

        @rule(tag=st.sampled_from(["red", "blue", "green"]))
        def invalidate(self, tag: str) -> None:
            members = self.tags.pop(tag, set())
            live = {key for key in members if key in self.model}
            removed = self.run(self.cache.invalidate_tags(tag))
            assert removed == len(live)
            for key in live:
                self._forget(key)

        @rule(keys=st.lists(KEYS, max_size=6))
        def get_many(self, keys: list[str]) -> None:
            hits = self.run(self.cache.get_many(keys))
            assert hits == {key: self.model[key] for key in keys if key in self.model}

        @invariant()
        def ttl_agrees(self) -> None:
            for key in ["a", "e:1"]:
                left = self.run(self.cache.ttl(key))
                assert (left is None) == (key not in self.model)

    return CacheMachine


RUN = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_cache_behaves_like_a_dict(backend: str, request: pytest.FixtureRequest) -> None:
    if backend == "memory":
        url = "memory://"
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        url = server.url
    machine = machine_for(url)
    machine.TestCase.settings = RUN
    machine.TestCase().runTest()
