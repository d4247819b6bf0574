"""A CacheAside's events: to ``cache.events`` subscribers and the OpenTelemetry counter.

Usage::

    signals = Signals(cache, source="cache_aside")
    signals.emit(EventKind.STALE, "user:1")
    signals.emit(EventKind.LOADER_TIMEOUT, "user:1", "soft_timeout 0.2s")

Cheap when nobody listens: with no subscriber and metrics off an emit is two tests,
about 0.2 us (``Signals.emit`` timed with timeit, 1M calls, on a loaded 2-core box),
against about 50 us for a ``CacheAside.get`` hit on the memory backend.
"""

from __future__ import annotations

from cachewright._metrics import Attributes
from cachewright.cache import Cache
from cachewright.events import Event, EventKind

__all__ = ["Signals"]


class Signals:
    __slots__ = ("_attrs", "_events", "_metrics", "_source")

    def __init__(self, cache: Cache, *, source: str) -> None:
        # Both are fixed for the cache's life: looked up once, not per event.
        self._metrics = metrics = cache.metrics
        self._events = cache.events
        self._source = source
        self._attrs: dict[EventKind, Attributes] = {
            kind: metrics.attributes(namespace=cache.namespace, pattern=source, event=kind.value)
            for kind in EventKind
        }

    def emit(self, kind: EventKind, key: str, detail: str = "") -> None:
        if self._metrics.enabled:
            self._metrics.event(self._attrs[kind])
        if self._events:
            self._events.emit(Event(kind, key, self._source, detail))
