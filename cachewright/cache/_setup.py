"""What a Cache is built from: the backend a URL names, the codec the settings ask for,
and the parts wired over the backend (guard, read and write paths, recovery, local tier).

Usage::

    backend = backend_for("redis://127.0.0.1:6379/0", settings)   # or "memory://"
    codec = codec_from(settings)          # JsonCodec, or a signed PickleCodec
    parts = build_parts(backend, settings=settings, replay_pattern=...)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cachewright._metrics import NOOP, Attributes, Metrics, otel_metrics
from cachewright._redact import redact_url
from cachewright.cache._breakers import Breakers
from cachewright.cache._fill_waits import FillWaits
from cachewright.cache._guard import Guard
from cachewright.cache._reads import ReadPath
from cachewright.cache._recovery import Recovery, pinger
from cachewright.cache._serializer import Serializer
from cachewright.cache._stats import Counters
from cachewright.cache._writes import WritePath
from cachewright.cache.backends.base import Backend, ReplicaReads, Topology
from cachewright.cache.codecs import Codec, JsonCodec, PickleCodec
from cachewright.cache.config import CacheSettings, default_settings
from cachewright.cache.keys import KeyBuilder
from cachewright.cache.local import Channel, Coherence, LocalStore, LocalTier, channel_for
from cachewright.errors import ConfigurationError
from cachewright.events import Event, EventKind, Events

__all__ = ["Parts", "backend_for", "build_parts", "codec_from"]


def codec_from(settings: CacheSettings) -> Codec:
    if not settings.allow_pickle:
        return JsonCodec()
    if settings.pickle_key is None:
        raise ConfigurationError("allow_pickle needs pickle_key (an HMAC key) to sign entries")
    return PickleCodec(settings.pickle_key.get_secret_value())


def backend_for(url: str, settings: CacheSettings) -> Backend:
    """The backend of a ``memory://`` or Redis URL (its scheme picks it)."""
    if url.startswith("memory://"):
        from cachewright.cache.backends.memory import MemoryBackend

        backend: Backend = MemoryBackend(max_entries=settings.memory_max_entries)
    elif url.startswith(("redis://", "rediss://", "redis+", "unix://", "valkey://")):
        from cachewright.cache.backends.redis import RedisBackend

        backend = RedisBackend.from_url(url, settings=settings)
    else:
        raise ConfigurationError(f"unsupported cache URL scheme: {redact_url(url)!r}")
    return backend


@dataclass(frozen=True, slots=True, eq=False)
class Parts:
    """What one Cache holds: built once by :func:`build_parts`, never replaced."""

    settings: CacheSettings
    backend: Backend
    keys: KeyBuilder
    serializer: Serializer
    counters: Counters
    events: Events
    url: str
    metrics: Metrics
    mattrs: Attributes
    guard: Guard
    read_from: Backend
    reads: ReadPath
    writes: WritePath
    recovery: Recovery
    local: LocalStore | None
    coherence: Coherence | None
    fills: FillWaits


def build_parts(
    backend: Backend,
    *,
    namespace: str | None = None,
    settings: CacheSettings | None = None,
    codec: Codec | None = None,
    url: str = "",
    local: LocalTier | None = None,
    channel: Channel | None = None,
    metrics: Metrics | None = None,
    replay_pattern: Callable[[str], Awaitable[object]],
) -> Parts:
    """Wire a Cache's parts over ``backend`` (the arguments are the Cache's own);
    ``replay_pattern`` is the cache's ``delete_pattern``, replayed after an outage."""
    settings = settings or default_settings()
    keys = KeyBuilder(
        settings.namespace if namespace is None else namespace,
        max_length=settings.max_key_length,
    )
    serializer = Serializer(
        codec or codec_from(settings),
        compress_threshold=settings.compress_threshold,
        max_bytes=settings.max_value_bytes,
        on_type_mismatch=settings.on_type_mismatch,
    )
    counters = Counters()
    events = Events()
    label = redact_url(url) if url else type(backend).__name__
    if metrics is None and settings.otel:
        metrics = otel_metrics()
    used: Metrics = metrics or NOOP
    mattrs = used.attributes(namespace=keys.namespace)
    guard = Guard(
        # One breaker per server node; the backend's topology (Cluster slots, the
        # Sentinel primary) says which node serves a key, and is looked up again
        # while a breaker is open, so keys follow a failover.
        Breakers(
            settings.breaker_threshold,
            settings.breaker_reset,
            topology=backend if isinstance(backend, Topology) else None,
        ),
        counters,
        used,
        mattrs,
        fail_open_writes=settings.fail_open_writes,
        read_timeout=settings.read_timeout,
        write_timeout=settings.write_timeout,
        check=getattr(backend, "check_server", None),  # capabilities (Redis)
    )
    # The local tier decided below; without one, reads may go to replicas.
    local = local or LocalTier.from_settings(settings)
    reader = backend.replica_reader() if isinstance(backend, ReplicaReads) else None
    read_from: Backend = backend if reader is None or local is not None else reader
    reads = ReadPath(keys, backend, serializer, guard, counters, used, mattrs, reader=read_from)
    writes = WritePath(keys, backend, serializer, guard, counters, settings.default_ttl)

    def recovered(detail: str) -> None:
        if used.enabled:
            used.event(
                used.attributes(
                    namespace=keys.namespace, pattern="cache", event=EventKind.RECOVERED.value
                )
            )
        events.emit(Event(EventKind.RECOVERED, "", "cache", detail))

    # Writes that could not reach the server are replayed when it answers again.
    recovery = Recovery(
        replay_keys=writes.delete_many,
        replay_tags=writes.invalidate_tags,
        replay_pattern=replay_pattern,
        replay_clear=writes.clear,
        interval=settings.breaker_reset,
        on_recovered=recovered,
        reachable=pinger(backend, settings.write_timeout),
        limit=settings.recovery_max_keys,
    )
    writes.on_lost(recovery.remember)
    # The local tier (None: one level). ``store`` is what the read path consults;
    # ``coherence`` tells the other processes what writes changed.
    store: LocalStore | None = None
    coherence: Coherence | None = None
    if local is not None:
        store = LocalStore(local, reads.decode_local)
        coherence = Coherence(
            store, channel or channel_for(url, backend, settings, keys.internal("inv"), local)
        )
        reads.attach(store, coherence)
        writes.attach(coherence)
    return Parts(
        settings=settings,
        backend=backend,
        keys=keys,
        serializer=serializer,
        counters=counters,
        events=events,
        url=label,
        metrics=used,
        mattrs=mattrs,
        guard=guard,
        read_from=read_from,
        reads=reads,
        writes=writes,
        recovery=recovery,
        local=store,
        coherence=coherence,
        fills=FillWaits(
            keys, backend, reads, writes, settings.connect_timeout + settings.read_timeout
        ),
    )
