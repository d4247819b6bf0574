"""What a Cache is built from: the backend a URL names and the codec the settings ask for.

Usage::

    backend = backend_for("redis://127.0.0.1:6379/0", settings)   # or "memory://"
    codec = codec_from(settings)          # JsonCodec, or a signed PickleCodec
"""

from __future__ import annotations

from cachewright._redact import redact_url
from cachewright.cache.backends.base import Backend
from cachewright.cache.codecs import Codec, JsonCodec, PickleCodec
from cachewright.errors import ConfigurationError
from cachewright.settings import Settings

__all__ = ["backend_for", "codec_from"]


def codec_from(settings: Settings) -> Codec:
    if not settings.allow_pickle:
        return JsonCodec()
    if settings.pickle_key is None:
        raise ConfigurationError("allow_pickle needs pickle_key (an HMAC key) to sign entries")
    return PickleCodec(settings.pickle_key.get_secret_value())


def backend_for(url: str, settings: Settings) -> Backend:
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
