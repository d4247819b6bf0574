"""What a cache and its patterns just did, as synchronous callbacks.

Usage::

    def on_event(event: cachewright.Event) -> None:
        if event.kind is EventKind.FAIL_SAFE:
            log.warning("serving stale %s: %s", event.key, event.detail)

    unsubscribe = cache.events.subscribe(on_event)
    ...
    unsubscribe()

Kinds (:class:`EventKind`): ``hit``, ``miss``, ``stale`` (a stale value was served),
``loader_timeout`` (``soft_timeout`` or ``hard_timeout`` ran out; ``detail`` says
which), ``fail_safe`` (the loader failed and the stale value stays in service),
``not_modified`` (a conditional refresh kept the entry and extended its life),
``background_fill`` (a load that outlived its caller's timeout wrote its value; not
emitted when the fill was refused or the value not cached),
``recovered`` (the cache server answers again and the writes it missed were
replayed; ``key`` is empty, ``source`` is ``"cache"``).

Scope: ``CacheAside.get``/``get_entry`` (and ``@cached`` calls) emit one event per
shared execution (callers that join a load already running for the key add none);
``get_many`` emits per key and call, as ``get`` would (``hit``, ``stale``, ``miss``,
``loader_timeout``, ``background_fill``); ``warmup`` emits ``hit`` for a fresh entry,
``miss`` for a key absent or stale (reloaded, not served) and ``fail_safe`` for a
stale entry whose reload failed. ``recovered`` comes from the cache layer.

Callbacks run synchronously, in the task that emits, in subscription order: keep them
short (hand slow work to a queue). An exception in a callback is logged (throttled)
and never reaches the caller of the cache. With no subscriber (and metrics off) an
event costs about 0.2 us. Every event is also counted by the OpenTelemetry counter
``cachewright.events`` (attribute ``cachewright.event``) when metrics are on.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from cachewright._logs import Throttle

__all__ = ["Event", "EventKind", "Events"]

log = logging.getLogger("cachewright.events")


class EventKind(enum.StrEnum):
    """What happened (see the module docstring); a ``str``, so ``kind == "hit"`` works."""

    HIT = "hit"
    MISS = "miss"
    STALE = "stale"
    LOADER_TIMEOUT = "loader_timeout"
    FAIL_SAFE = "fail_safe"
    NOT_MODIFIED = "not_modified"
    BACKGROUND_FILL = "background_fill"
    RECOVERED = "recovered"


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its kind, the cache key (namespace left out), who emitted it, why."""

    kind: EventKind
    key: str
    source: str = ""
    detail: str = ""


Subscriber = Callable[[Event], object]


class Events:
    """The subscribers of one cache (``cache.events``)."""

    __slots__ = ("_subscribers", "_throttled")

    def __init__(self) -> None:
        self._subscribers: tuple[Subscriber, ...] = ()
        # A callback failing on every event is logged once a minute, with a count.
        self._throttled = Throttle(log)

    def __bool__(self) -> bool:
        return bool(self._subscribers)

    def __repr__(self) -> str:
        return f"Events(subscribers={len(self._subscribers)})"

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns the unsubscribe function."""
        self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            self._subscribers = tuple(s for s in self._subscribers if s is not callback)

        return unsubscribe

    def emit(self, event: Event) -> None:
        # A tuple replaced on (un)subscribe: a callback that unsubscribes is safe.
        for callback in self._subscribers:
            try:
                callback(event)
            except Exception as exc:
                self._throttled.warning(
                    "event callback %r failed on %s: %r", callback, event.kind, exc
                )
