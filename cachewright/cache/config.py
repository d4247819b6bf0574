"""What a Cache is configured by: the values the cache layer reads, as a protocol.

Usage::

    cache = Cache.from_url(url, settings=Settings(namespace="shop"))   # the top's Settings
    cache = Cache.from_url(url)          # default_settings(): Settings() from CACHEWRIGHT_*

:class:`cachewright.Settings` (read from the environment, at the top) satisfies
:class:`CacheSettings`; the cache layer, its backends, the local tier and the durable
queue read only these attributes and never import ``cachewright.settings``. Given no
settings, they take :func:`default_settings`: what the top package installed when
``cachewright`` was imported, i.e. ``Settings()``, read afresh.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from cachewright._wiring import default_settings as installed_settings
from cachewright.errors import ConfigurationError

__all__ = ["CacheSettings", "Secret", "default_settings"]


class Secret(Protocol):
    """A value kept out of reprs (pydantic's ``SecretStr`` is one)."""

    def get_secret_value(self) -> str: ...


@runtime_checkable
class CacheSettings(Protocol):
    """The configuration a Cache (and its backend, local tier and queue) is built from;
    each attribute means what the :class:`cachewright.Settings` field of that name says."""

    @property
    def url(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def default_ttl(self) -> float | None: ...
    @property
    def connect_timeout(self) -> float: ...
    @property
    def read_timeout(self) -> float: ...
    @property
    def write_timeout(self) -> float: ...
    @property
    def max_connections(self) -> int: ...
    @property
    def max_key_length(self) -> int: ...
    @property
    def max_value_bytes(self) -> int: ...
    @property
    def memory_max_entries(self) -> int: ...
    @property
    def fail_open_writes(self) -> bool: ...
    @property
    def on_type_mismatch(self) -> Literal["raise", "miss"]: ...
    @property
    def read_from_replicas(self) -> bool: ...
    @property
    def breaker_threshold(self) -> int: ...
    @property
    def breaker_reset(self) -> float: ...
    @property
    def recovery_max_keys(self) -> int: ...
    @property
    def compress_threshold(self) -> int | None: ...
    @property
    def local_max_entries(self) -> int | None: ...
    @property
    def local_ttl(self) -> float: ...
    @property
    def local_max_bytes(self) -> int | None: ...
    @property
    def otel(self) -> bool: ...
    @property
    def allow_pickle(self) -> bool: ...
    @property
    def pickle_key(self) -> Secret | None: ...


def default_settings() -> CacheSettings:
    """The settings of a cache built without any: ``cachewright.Settings()``, read
    from ``CACHEWRIGHT_*`` and ``.env`` by the reader the top package installed."""
    settings = installed_settings()
    if not isinstance(settings, CacheSettings):
        raise ConfigurationError(f"the installed settings reader made {type(settings)!r}")
    return settings
