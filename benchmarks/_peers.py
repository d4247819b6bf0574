"""The peers, each at its defaults and at its best documented setting.

- ``cashews``: ``Cache().setup(url)``: its defaults (pickle serializer, no client-side
  cache, a blocking pool of 10 connections).
- ``cashews, json``: ``setup(url, pickle_type="json")``, its documented JSON serializer
  (stdlib ``json``), the choice for values other languages read.
- ``aiocache``: ``RedisCache()``: its default ``JsonSerializer`` (stdlib ``json``; ujson
  when installed, which it is not here).
- ``aiocache, pickle``: ``RedisCache(serializer=PickleSerializer())``.

Typed reads validate each value with ``User.model_validate``, as a user of these
libraries would. Which setting was the faster is read from each run, per workload.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from benchmarks._contenders import TTL, Contender, Getter, Loader, User, user_dict

__all__ = ["PEERS", "Aiocache", "AiocachePickle", "Cashews", "CashewsJson"]


class Cashews(Contender):
    name = "cashews"
    prefix = "cs:"  # each setting its own keys: one cannot read the other's values
    supports_tags = True
    options: dict[str, Any] = {}  # noqa: RUF012 - read-only, per class

    async def open(self) -> None:
        from cashews import Cache

        self.c = Cache()
        self.c.setup(self.url, **self.options)
        await self.c.init()

    async def close(self) -> None:
        await self.c.close()

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await self.c.set(self.prefix + key, value, expire=TTL)

    async def get(self, key: str) -> Any:
        return await self.c.get(self.prefix + key)

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        await self.c.set_many({self.prefix + k: v for k, v in items.items()}, expire=TTL)

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        values = await self.c.get_many(*[self.prefix + k for k in keys])
        validate = User.model_validate
        return {k: validate(v) for k, v in zip(keys, values, strict=True) if v is not None}

    async def tagged_set(self, key: str, value: dict[str, Any], tag: str) -> None:
        await self.c.set(self.prefix + key, value, expire=TTL, tags=[tag])

    async def fill_tagged(self, keys: Sequence[str], tag: str) -> None:
        for i, key in enumerate(keys):
            await self.c.set(self.prefix + key, user_dict(i), expire=600, tags=[tag])

    async def invalidate(self, tag: str) -> None:
        await self.c.delete_tags(tag)

    def aside(self, loader: Callable[[int], Awaitable[dict[str, Any]]]) -> Getter:
        @self.c(ttl=TTL, key=self.prefix + "ca:{i}")
        async def load(i: int) -> Any:
            return await loader(i)

        async def get(i: int) -> User:
            return User.model_validate(await load(i))

        return get

    def stampede(
        self, loader: Loader, *, lock: bool, lease: float
    ) -> Callable[[str], Awaitable[Any]]:
        @self.c(
            ttl=TTL, key=self.prefix + "st:{key}", lock=True
        )  # its lock lives as long as the ttl
        async def load(key: str) -> Any:
            return await loader(key)

        return load


class CashewsJson(Cashews):
    name = "cashews, json"
    prefix = "csj:"
    options = {"pickle_type": "json"}  # noqa: RUF012
    supports_tags = False  # tags cost the same whatever the serializer: shown once


class Aiocache(Contender):
    name = "aiocache"
    namespace = "ac"  # each setting its own keys: one cannot read the other's values

    def serializer(self) -> Any:
        from aiocache.serializers import JsonSerializer

        return JsonSerializer()

    async def open(self) -> None:
        from aiocache import RedisCache

        self.c = RedisCache(
            endpoint="127.0.0.1",
            port=self.port,
            serializer=self.serializer(),
            namespace=self.namespace,
        )

    async def close(self) -> None:
        await self.c.close()

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await self.c.set(key, value, ttl=TTL)

    async def get(self, key: str) -> Any:
        return await self.c.get(key)

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        await self.c.multi_set(list(items.items()), ttl=TTL)

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        values = await self.c.multi_get(list(keys))
        validate = User.model_validate
        return {k: validate(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def aside(self, loader: Callable[[int], Awaitable[dict[str, Any]]]) -> Getter:
        from aiocache import RedisCache, cached

        @cached(  # type: ignore[untyped-decorator]  # aiocache is untyped
            ttl=TTL,
            cache=RedisCache,
            serializer=self.serializer(),
            endpoint="127.0.0.1",
            port=self.port,
            namespace=self.namespace + "ca",
            key_builder=lambda f, i: f"ca:{i}",
        )
        async def load(i: int) -> Any:
            return await loader(i)

        async def get(i: int) -> User:
            return User.model_validate(await load(i))

        return get

    def stampede(
        self, loader: Loader, *, lock: bool, lease: float
    ) -> Callable[[str], Awaitable[Any]]:
        from aiocache import RedisCache, cached_stampede

        @cached_stampede(  # type: ignore[untyped-decorator]  # aiocache is untyped
            lease=max(2, int(lease) + 1),
            ttl=TTL,
            cache=RedisCache,
            serializer=self.serializer(),
            endpoint="127.0.0.1",
            port=self.port,
            pool_max_size=2000,  # the default pool (50) fails 1,000 concurrent callers
            namespace=self.namespace + "st",
            key_builder=lambda f, key: f"st:{key}",
        )
        async def load(key: str) -> Any:
            return await loader(key)

        return cast("Callable[[str], Awaitable[Any]]", load)


class AiocachePickle(Aiocache):
    name = "aiocache, pickle"
    namespace = "acp"

    def serializer(self) -> Any:
        from aiocache.serializers import PickleSerializer

        return PickleSerializer()


PEERS: tuple[type[Contender], ...] = (Cashews, CashewsJson, Aiocache, AiocachePickle)
