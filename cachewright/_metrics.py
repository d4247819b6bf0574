"""Optional OpenTelemetry instruments, free when unused.

Usage::

    from cachewright._metrics import NOOP, otel_metrics

    metrics = otel_metrics()                 # the global MeterProvider (the ``otel`` extra)
    metrics = otel_metrics(meter_provider)   # or a provider of your own
    metrics = NOOP                           # the default: every hook does nothing

    attrs = metrics.attributes(namespace="shop", operation="get")   # build once, reuse
    started = metrics.clock()                # 0.0 on NOOP: no clock read
    ...
    metrics.hit(attrs)                       # or miss / error
    metrics.operation(started, attrs)        # histogram of seconds since ``started``
    stop = metrics.watch_pending(lambda: (pending, oldest_age_seconds), attrs)
    stop()                                   # the gauge stops reporting this source

Instruments (``cachewright`` meter):

=====================================  ===========  ====================================
``cachewright.cache.hits``             counter      reads answered from the cache
``cachewright.cache.misses``           counter      reads that found nothing
``cachewright.cache.errors``           counter      cache operations that failed
``cachewright.cache.operation.duration`` histogram  seconds per cache operation
``cachewright.loader.duration``        histogram    seconds per loader call
``cachewright.events``                 counter      cache-aside events by kind (cachewright.events)
``cachewright.write_behind.flushed``   counter      writes delivered to the store
``cachewright.write_behind.retried``   counter      writes sent again after a failure
``cachewright.write_behind.dead_lettered`` counter  writes moved to the dead-letter set
``cachewright.write_behind.pending``   gauge        writes accepted, not yet flushed
``cachewright.write_behind.oldest_pending_age`` gauge  seconds the oldest one has waited
=====================================  ===========  ====================================

No cost when disabled: :data:`NOOP` has the same methods, each an empty body, and
``NOOP.clock()`` returns 0.0 without reading a clock (about 40 ns a hook call,
measured by ``python -m benchmarks``). ``otel_metrics`` raises
:class:`~cachewright.errors.ConfigurationError` when ``opentelemetry-api`` is absent;
nothing here imports it until then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cachewright.errors import ConfigurationError

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

__all__ = ["NOOP", "Attributes", "Metrics", "NoopMetrics", "OtelMetrics", "otel_metrics"]

Attributes = Mapping[str, str]
PendingProbe = Callable[[], tuple[int, float | None]]

_EMPTY: Attributes = {}


class NoopMetrics:
    """Every hook of :class:`OtelMetrics`, doing nothing (the default)."""

    __slots__ = ()

    enabled = False

    def __repr__(self) -> str:
        return "NOOP"

    def attributes(self, **values: str) -> Attributes:
        return _EMPTY

    def clock(self) -> float:
        return 0.0

    def hit(self, attributes: Attributes = _EMPTY, count: int = 1) -> None:
        pass

    def miss(self, attributes: Attributes = _EMPTY, count: int = 1) -> None:
        pass

    def error(self, attributes: Attributes = _EMPTY) -> None:
        pass

    def operation(self, started: float, attributes: Attributes = _EMPTY) -> None:
        pass

    def loader(self, started: float, attributes: Attributes = _EMPTY) -> None:
        pass

    def event(self, attributes: Attributes = _EMPTY) -> None:
        pass

    def flushed(self, count: int, attributes: Attributes = _EMPTY) -> None:
        pass

    def retried(self, count: int, attributes: Attributes = _EMPTY) -> None:
        pass

    def dead_lettered(self, count: int, attributes: Attributes = _EMPTY) -> None:
        pass

    def watch_pending(
        self, probe: PendingProbe, attributes: Attributes = _EMPTY
    ) -> Callable[[], None]:
        return _nothing


def _nothing() -> None:
    return None


#: The shared disabled instance.
NOOP = NoopMetrics()


class OtelMetrics:
    """The instruments on an OpenTelemetry meter (see the module docstring)."""

    __slots__ = (
        "_dead",
        "_errors",
        "_events",
        "_flushed",
        "_hits",
        "_loader",
        "_misses",
        "_operation",
        "_probes",
        "_retried",
    )

    enabled = True

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        try:
            from opentelemetry import metrics as otel
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise ConfigurationError(
                "metrics need opentelemetry-api: pip install 'cachewright[otel]'"
            ) from exc
        provider = meter_provider or otel.get_meter_provider()
        meter = provider.get_meter("cachewright")
        self._hits = meter.create_counter(
            "cachewright.cache.hits", unit="{read}", description="Reads answered by the cache"
        )
        self._misses = meter.create_counter(
            "cachewright.cache.misses", unit="{read}", description="Reads that found nothing"
        )
        self._errors = meter.create_counter(
            "cachewright.cache.errors", unit="{error}", description="Failed cache operations"
        )
        self._operation = meter.create_histogram(
            "cachewright.cache.operation.duration", unit="s", description="Cache operation time"
        )
        self._loader = meter.create_histogram(
            "cachewright.loader.duration", unit="s", description="Loader call time"
        )
        self._events = meter.create_counter(
            "cachewright.events", unit="{event}", description="Cache-aside events by kind"
        )
        self._flushed = meter.create_counter(
            "cachewright.write_behind.flushed", unit="{write}", description="Writes delivered"
        )
        self._retried = meter.create_counter(
            "cachewright.write_behind.retried", unit="{write}", description="Writes retried"
        )
        self._dead = meter.create_counter(
            "cachewright.write_behind.dead_lettered",
            unit="{write}",
            description="Writes moved to the dead-letter set",
        )
        self._probes: dict[int, tuple[PendingProbe, Attributes]] = {}
        meter.create_observable_gauge(
            "cachewright.write_behind.pending",
            callbacks=[self._observe_pending],
            unit="{write}",
            description="Writes accepted and not yet flushed",
        )
        meter.create_observable_gauge(
            "cachewright.write_behind.oldest_pending_age",
            callbacks=[self._observe_age],
            unit="s",
            description="Seconds the oldest pending write has waited",
        )

    def __repr__(self) -> str:
        return f"OtelMetrics(sources={len(self._probes)})"

    def attributes(self, **values: str) -> Attributes:
        """Attributes to pass to the hooks: build them once per cache or pattern."""
        return {f"cachewright.{name}": value for name, value in values.items()}

    def clock(self) -> float:
        return time.perf_counter()

    def hit(self, attributes: Attributes = _EMPTY, count: int = 1) -> None:
        self._hits.add(count, attributes)

    def miss(self, attributes: Attributes = _EMPTY, count: int = 1) -> None:
        self._misses.add(count, attributes)

    def error(self, attributes: Attributes = _EMPTY) -> None:
        self._errors.add(1, attributes)

    def operation(self, started: float, attributes: Attributes = _EMPTY) -> None:
        self._operation.record(time.perf_counter() - started, attributes)

    def loader(self, started: float, attributes: Attributes = _EMPTY) -> None:
        self._loader.record(time.perf_counter() - started, attributes)

    def event(self, attributes: Attributes = _EMPTY) -> None:
        self._events.add(1, attributes)

    def flushed(self, count: int, attributes: Attributes = _EMPTY) -> None:
        self._flushed.add(count, attributes)

    def retried(self, count: int, attributes: Attributes = _EMPTY) -> None:
        self._retried.add(count, attributes)

    def dead_lettered(self, count: int, attributes: Attributes = _EMPTY) -> None:
        self._dead.add(count, attributes)

    def watch_pending(
        self, probe: PendingProbe, attributes: Attributes = _EMPTY
    ) -> Callable[[], None]:
        """Report ``probe()`` = (pending writes, oldest age in s or None) at each collection.

        Returns the function that stops it (call it when the write-behind closes).
        """
        token = id(probe)
        self._probes[token] = (probe, attributes)

        def stop() -> None:
            self._probes.pop(token, None)

        return stop

    def _observe(self, index: int) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for probe, attributes in list(self._probes.values()):
            try:
                reading = probe()
            except Exception:
                continue  # a failing source must not break the whole collection
            value = reading[index]
            if value is not None:
                yield Observation(value, attributes)

    def _observe_pending(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(0)

    def _observe_age(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._observe(1)


#: What a cache or pattern accepts as ``metrics=``.
Metrics = NoopMetrics | OtelMetrics


def otel_metrics(meter_provider: Any = None) -> OtelMetrics:
    """Instruments on ``meter_provider`` (default: OpenTelemetry's global provider)."""
    return OtelMetrics(meter_provider)
