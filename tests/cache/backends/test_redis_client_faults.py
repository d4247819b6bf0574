"""Nothing but a cachewright error leaves the backend, whatever redis-py raises inside.

redis-py's cluster client closes connections other calls are using when it rebuilds
its topology (a ClusterDownError or MOVED after a failover, issue 17) or when it is
closed: the calls on them fail with raw ``AttributeError``/``TypeError`` from inside
redis-py. The same happens on the public ``RedisCluster.aclose()``, which is how
these tests provoke it on the session's cluster, without a failover.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator

import pytest

from cachewright._redis.errors import ErrorMap, QueueErrors
from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import CacheUnavailable, CachewrightError, QueueUnavailable
from cachewright.settings import Settings
from tests._servers import RedisCluster

# The closed client's connections are dropped unclosed by redis-py; their finalizers
# warn at garbage collection, collected here (see tests/faults/test_failover_cluster.py).
LEAKED = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <(socket\\.socket|function (_SelectorTransport|StreamWriter"
    "|AbstractConnection|ClusterNode)\\.__del__):pytest.PytestUnraisableExceptionWarning"
)

pytestmark = [pytest.mark.redis, pytest.mark.cluster]


@pytest.fixture
def _collect_leaked_clients() -> Iterator[None]:
    yield
    gc.collect()


SETTINGS = Settings(connect_timeout=0.5, read_timeout=0.5, write_timeout=0.5)


async def _race_a_close(backend: RedisBackend, namespace: str) -> list[BaseException | None]:
    """200 writes (single sets and per-node pipelines) while the client is closed."""
    await backend.set(f"{namespace}:warm", b"v", 10_000)  # the slot map is known

    async def one(i: int) -> None:
        if i % 4:
            await backend.set(f"{namespace}:k{i}", b"v" * 64, 10_000)
        else:  # a cluster pipeline, one per node
            await backend.set_many([(f"{namespace}:k{i}.{j}", b"v", 10_000) for j in range(6)])

    async def close_soon() -> None:
        await asyncio.sleep(0)
        # Its own outcome (it may time out on a busy connection) is not the backend's.
        with contextlib.suppress(Exception):
            await backend.client.aclose()

    results = await asyncio.gather(
        *(one(i) for i in range(200)), close_soon(), return_exceptions=True
    )
    return results[:-1]


@LEAKED
@pytest.mark.usefixtures("_collect_leaked_clients")
async def test_writes_racing_a_client_close_raise_only_cachewright_errors(
    redis_cluster: RedisCluster, namespace: str
) -> None:
    outcomes: dict[str, int] = {}
    for _ in range(5):
        backend = RedisBackend.from_url(redis_cluster.url, settings=SETTINGS)
        try:
            results = await _race_a_close(backend, namespace)
        finally:
            await backend.close()
        for result in results:
            name = "ok" if result is None else type(result).__name__
            if isinstance(result, CachewrightError) and result.__cause__ is not None:
                name += f"<-{type(result.__cause__).__name__}"
            outcomes[name] = outcomes.get(name, 0) + 1
            if isinstance(result, BaseException):
                assert isinstance(result, CachewrightError), repr(result)
    print(f"\nwrites racing aclose(): {outcomes}")
    assert set(outcomes) - {"ok"}, "the close raced no call: the test proved nothing"


def _inside_redis() -> None:
    # A frame of redis-py's own code, as when its client trips over a closed connection.
    exec(
        "raise AttributeError(\"'NoneType' object has no attribute 'writelines'\")",
        {"__name__": "redis.asyncio.connection"},
    )


def test_a_fault_inside_redis_py_is_an_outage() -> None:
    with pytest.raises(CacheUnavailable) as caught, ErrorMap("secret"):
        _inside_redis()
    assert isinstance(caught.value.__cause__, AttributeError)
    with pytest.raises(QueueUnavailable), QueueErrors():
        _inside_redis()


def test_our_own_bugs_and_cancellation_pass_through() -> None:
    with pytest.raises(AttributeError), ErrorMap():
        None.missing  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(asyncio.CancelledError), ErrorMap():
        raise asyncio.CancelledError
