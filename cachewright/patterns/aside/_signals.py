"""A CacheAside's events: to ``cache.events`` subscribers and the OpenTelemetry counter.

Usage::

    signals = Signals(cache, source="cache_aside")
    signals.emit(EventKind.STALE, "user:1")
    signals.emit(EventKind.LOADER_TIMEOUT, "user:1", "soft_timeout 0.2s")

Free when nobody listens: no subscriber and metrics off cost two truth tests.
"""

from __future__ import annotations

from cachewright._metrics import Attributes
from cachewright.cache import Cache
from cachewright.events import Event, EventKind

__all__ = ["Signals"]


class Signals:
    __slots__ = ("_attrs", "_cache", "_source")

    def __init__(self, cache: Cache, *, source: str) -> None:
        self._cache = cache
        self._source = source
        metrics = cache.metrics
        self._attrs: dict[EventKind, Attributes] = {
            kind: metrics.attributes(namespace=cache.namespace, pattern=source, event=kind.value)
            for kind in EventKind
        }

    def emit(self, kind: EventKind, key: str, detail: str = "") -> None:
        metrics = self._cache.metrics
        if metrics.enabled:
            metrics.event(self._attrs[kind])
        events = self._cache.events
        if events:
            events.emit(Event(kind, key, self._source, detail))
