"""Optional OpenTelemetry instruments: recorded through a real SDK, free when disabled."""

from __future__ import annotations

from typing import Any

import pytest

from cachewright._metrics import NOOP, NoopMetrics, OtelMetrics, otel_metrics

sdk_metrics = pytest.importorskip("opentelemetry.sdk.metrics")
sdk_export = pytest.importorskip("opentelemetry.sdk.metrics.export")


def _collect(reader: Any) -> dict[str, list[Any]]:
    """Instrument name -> data points, from one collection."""
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    if data is None:  # nothing was recorded or observed
        return found
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


@pytest.fixture
def reader() -> Any:
    return sdk_export.InMemoryMetricReader()


@pytest.fixture
def metrics(reader: Any) -> OtelMetrics:
    return otel_metrics(sdk_metrics.MeterProvider(metric_readers=[reader]))


def test_counters_and_histograms_carry_values_and_attributes(
    metrics: OtelMetrics, reader: Any
) -> None:
    attrs = metrics.attributes(namespace="shop", operation="get")
    assert attrs == {"cachewright.namespace": "shop", "cachewright.operation": "get"}
    metrics.hit(attrs)
    metrics.hit(attrs, count=2)
    metrics.miss(attrs)
    metrics.error(attrs)
    started = metrics.clock()
    metrics.operation(started, attrs)
    metrics.loader(started, attrs)
    metrics.flushed(1000)
    metrics.retried(3)
    metrics.dead_lettered(1)
    seen = _collect(reader)
    assert seen["cachewright.cache.hits"][0].value == 3
    assert dict(seen["cachewright.cache.hits"][0].attributes) == attrs
    assert seen["cachewright.cache.misses"][0].value == 1
    assert seen["cachewright.cache.errors"][0].value == 1
    assert seen["cachewright.cache.operation.duration"][0].count == 1
    assert seen["cachewright.cache.operation.duration"][0].sum >= 0
    assert seen["cachewright.loader.duration"][0].count == 1
    assert seen["cachewright.write_behind.flushed"][0].value == 1000
    assert seen["cachewright.write_behind.retried"][0].value == 3
    assert seen["cachewright.write_behind.dead_lettered"][0].value == 1


def test_pending_gauges_follow_their_sources_until_stopped(
    metrics: OtelMetrics, reader: Any
) -> None:
    state: dict[str, Any] = {"pending": 7, "age": 1.5}
    attrs = metrics.attributes(queue="profiles")
    stop = metrics.watch_pending(lambda: (int(state["pending"]), state["age"]), attrs)

    def broken() -> tuple[int, float | None]:
        raise RuntimeError("a failing source is skipped, not fatal")

    metrics.watch_pending(broken)
    seen = _collect(reader)
    assert [p.value for p in seen["cachewright.write_behind.pending"]] == [7]
    assert [p.value for p in seen["cachewright.write_behind.oldest_pending_age"]] == [1.5]
    state.update(pending=0, age=0.0)
    assert [p.value for p in _collect(reader)["cachewright.write_behind.pending"]] == [0]
    stop()
    stop()  # idempotent
    after = _collect(reader)
    assert not after.get("cachewright.write_behind.pending")


def test_noop_has_every_hook_and_records_nothing() -> None:
    hooks = {name for name in dir(OtelMetrics) if not name.startswith("_")}
    assert hooks <= {name for name in dir(NoopMetrics) if not name.startswith("_")}
    assert NOOP.enabled is False
    assert NOOP.clock() == 0.0
    attrs = NOOP.attributes(namespace="shop")
    NOOP.hit(attrs)
    NOOP.miss(attrs)
    NOOP.error(attrs)
    NOOP.operation(0.0, attrs)
    NOOP.loader(0.0, attrs)
    NOOP.flushed(1)
    NOOP.retried(1)
    NOOP.dead_lettered(1)
    NOOP.watch_pending(lambda: (1, None))()
    assert repr(NOOP) == "NOOP"


def test_default_provider_without_sdk_is_safe() -> None:
    metrics = otel_metrics()  # the API's global (no-op unless an SDK is configured)
    metrics.hit()
    metrics.operation(metrics.clock())
    assert "OtelMetrics" in repr(metrics)


async def test_the_cache_and_the_patterns_record_to_their_metrics(
    metrics: OtelMetrics, reader: Any, redis_url: str, namespace: str
) -> None:
    from pydantic import BaseModel

    from cachewright import Cache, CacheAside, WriteBehind
    from cachewright.patterns.write_behind.queues import MemoryWriteQueue
    from cachewright.stores import MemoryStore

    class Item(BaseModel):
        n: int

    async def load(n: int) -> Item:
        return Item(n=n)

    async with Cache.from_url(redis_url, namespace=namespace, metrics=metrics) as cache:
        items = CacheAside(cache, loader=load, key="item:{}", type=Item, ttl=60)
        assert await items.get(1) == Item(n=1)  # a miss, a load
        assert await items.get(1) == Item(n=1)  # a hit
        store: MemoryStore[int, Item] = MemoryStore()
        async with WriteBehind(
            cache, store, key="wb:{}", type=Item, queue=MemoryWriteQueue(), flusher=False
        ) as behind:
            await behind.set(5, Item(n=5))
            seen = _collect(reader)
            assert [p.value for p in seen["cachewright.write_behind.pending"]] == [0]
            await behind.stats()  # refreshes the gauges
            seen = _collect(reader)
            assert [p.value for p in seen["cachewright.write_behind.pending"]] == [1]
            await behind.flush()
        await items.close()

    seen = _collect(reader)
    hits = sum(p.value for p in seen["cachewright.cache.hits"])
    misses = sum(p.value for p in seen["cachewright.cache.misses"])
    assert hits >= 1
    assert misses >= 1
    assert sum(p.count for p in seen["cachewright.loader.duration"]) == 1
    assert sum(p.value for p in seen["cachewright.write_behind.flushed"]) == 1
    assert sum(p.count for p in seen["cachewright.cache.operation.duration"]) >= 4
    assert not seen.get("cachewright.write_behind.pending")  # stopped on close
