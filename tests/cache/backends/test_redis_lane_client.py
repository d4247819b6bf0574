"""What the lane keeps of the user's redis-py client: its retry policy, its metrics.

The lane talks to its connection through redis-py's public ``Connection`` API, so
what ``execute_command`` would do around a command it has to do itself. Shown on
private servers: a connection cut while a request is in flight is retried by the
client's ``Retry`` (and only then: without one, the call fails); a server restarted
between calls, or a connection the server closed while idle, is reconnected before
sending; redis-py's own OpenTelemetry metrics count the lane's commands.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import AbstractBackoff

from cachewright._redis.lane import IDLE_CHECK
from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import CacheUnavailable
from tests._servers import RedisServer, wait_until_async
from tests.cache.backends._marker_proxy import MarkerProxy
from tests.cache.backends.conftest import Names


class CountingBackoff(AbstractBackoff):
    """No wait between attempts; ``on_retry`` is called once per retry.

    redis-py deep-copies the Retry (and so this backoff) into every connection;
    a function survives the copy as itself, so the count reaches the test.
    """

    def __init__(self, on_retry: Callable[[], None]) -> None:
        self._on_retry = on_retry

    def compute(self, failures: int) -> float:
        self._on_retry()
        return 0.0


def _retrying(port: int, retries: int, log: list[int]) -> Redis:
    backoff = CountingBackoff(lambda: log.append(1))
    return Redis(host="127.0.0.1", port=port, retry=Retry(backoff, retries))


@pytest.mark.parametrize("retries", [1, 0])
async def test_the_clients_retry_policy_applies_to_a_lane_call(
    fresh_redis: RedisServer, names: Names, retries: int
) -> None:
    marker = names.key("marker")
    async with Redis(host="127.0.0.1", port=fresh_redis.port) as admin:
        await admin.set(marker, b"v")
    retried: list[int] = []
    async with MarkerProxy(fresh_redis.port, marker.encode(), hold=False) as proxy:
        client = _retrying(proxy.port, retries, retried)
        backend = RedisBackend(client)
        try:
            await backend.set(names.key("warm"), b"w", None)  # the lane is connected
            # The proxy cuts the lane's connection as the GET goes through: the request
            # was sent and no reply can come. Only a retry can answer it.
            if retries:
                assert await backend.get(marker) == b"v"
                assert retried == [1]
            else:
                with pytest.raises(CacheUnavailable):
                    await backend.get(marker)
                assert retried == []
            assert proxy.cuts == 1
            assert await backend.get(marker) == b"v"  # the lane reconnected
        finally:
            await backend.close()
            await client.aclose()


async def test_a_server_restarted_between_calls_is_reconnected(
    names: Names,
) -> None:
    server = RedisServer(appendonly=True).start()
    retried: list[int] = []
    client = _retrying(server.port, 1, retried)
    backend = RedisBackend(client)
    try:
        await backend.set(names.key("k"), b"v", None)
        assert await backend.get(names.key("k")) == b"v"
        server.restart()  # SIGKILL, then start again from the AOF, on the same port
        assert await backend.get(names.key("k")) == b"v"  # reconnected (checked or retried)
    finally:
        await backend.close()
        await client.aclose()
        server.cleanup()


async def test_a_connection_closed_while_idle_is_reconnected_without_a_retry_policy(
    fresh_redis: RedisServer, names: Names
) -> None:
    # from_url's client has redis-py's retries off: the idle check alone reconnects.
    backend = RedisBackend.from_url(fresh_redis.url)
    try:
        await backend.set(names.key("k"), b"v", None)
        assert await backend.get(names.key("k")) == b"v"
        async with Redis(host="127.0.0.1", port=fresh_redis.port) as admin:
            assert await admin.client_kill_filter(_type="normal", skipme=True) >= 1
            # gone on the server's side: its end of the socket is closed
            await wait_until_async(lambda: _others(admin), expect=0)
        # The scenario is a connection left idle (the lane checks one that has not been
        # used for IDLE_CHECK): this pause is the idleness, not a synchronisation.
        await asyncio.sleep(2 * IDLE_CHECK)
        assert await backend.get(names.key("k")) == b"v"
        assert await backend.exists(names.key("k"))
    finally:
        await backend.close()


async def _others(admin: Redis) -> int:
    return len(await admin.client_list(_type="normal")) - 1


_METRICS_SCRIPT = """
import asyncio, json, sys

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from redis.observability import MetricGroup, OTelConfig, get_observability_instance

from cachewright._redis.lane import IDLE_CHECK
from cachewright.cache.backends.redis import RedisBackend

reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
get_observability_instance().init(OTelConfig(metric_groups=[MetricGroup.COMMAND]))


async def main(url, prefix):
    backend = RedisBackend.from_url(url)
    try:
        await backend.set(prefix + "a", b"1", None)   # alone: SET on the lane
        await backend.get(prefix + "a")               # alone: GET on the lane
        await asyncio.gather(*(backend.incr(prefix + "n", 1) for _ in range(10)))
    finally:
        await backend.close()


asyncio.run(main(sys.argv[1], sys.argv[2]))
counts = {}
for resource in reader.get_metrics_data().resource_metrics:
    for scope in resource.scope_metrics:
        for metric in scope.metrics:
            if metric.name != "db.client.operation.duration":
                continue
            for point in metric.data.data_points:
                name = point.attributes.get("db.operation.name")
                counts[name] = counts.get(name, 0) + point.count
print(json.dumps(counts))
"""


def test_redis_pys_metrics_count_the_lanes_commands(fresh_redis: RedisServer, names: Names) -> None:
    pytest.importorskip("redis.asyncio.observability", reason="redis-py < 8 has no metrics")
    sdk = importlib.metadata.version("opentelemetry-sdk")
    if tuple(int(part) for part in sdk.split(".")[:2]) < (1, 39):
        # redis-py's observability needs redis[otel]'s OpenTelemetry (>= 1.39.1); the
        # oldest-versions CI session runs cachewright's own minimum, 1.23.
        pytest.skip(f"redis-py's metrics need opentelemetry-sdk >= 1.39.1, not {sdk}")
    # A subprocess: OpenTelemetry's global MeterProvider can be set once per process.
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_METRICS_SCRIPT), fresh_redis.url, names.key("")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts.get("SET") == 1
    assert counts.get("GET") == 1
    # ten INCRBYs at once: the first alone, the nine others in a pipeline behind it
    assert counts.get("INCRBY") == 1
    assert counts.get("PIPELINE", 0) >= 1
