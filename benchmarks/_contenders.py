"""The four clients under test, behind one small interface.

Every contender stores the same values (a ~120-byte JSON object, or a pydantic model
of the same fields) with a 60 s ttl, under its own key prefix on the same server:

- ``cachewright``: ``Cache.from_url(url, namespace="cw")``, its JSON codec (pydantic-core).
- ``redis-py``: raw ``redis.asyncio.Redis`` with hiredis, values through stdlib ``json``
  (or ``Model.model_validate_json``): the floor for one Python client doing the same job.
- ``cashews``: ``Cache().setup(url, pickle_type="json")`` (its JSON serializer).
- ``aiocache``: ``RedisCache(serializer=JsonSerializer())``.

A method a library does not offer returns ``NotImplemented`` at setup and the
workload skips that library.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from pydantic import BaseModel

__all__ = ["CONTENDERS", "Contender", "User", "user_dict"]

TTL = 60


class User(BaseModel):
    id: int
    name: str
    email: str
    score: float
    roles: list[str]


def user_dict(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "name": f"user number {n}",
        "email": f"user{n}@example.com",
        "score": n / 7,
        "roles": ["reader", "writer"],
    }


Loader = Callable[[str], Awaitable[dict[str, Any]]]


class Contender:
    name = ""
    supports_tags = False

    def __init__(self, url: str, port: int) -> None:
        self.url = url
        self.port = port

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def set(self, key: str, value: dict[str, Any]) -> None:
        raise NotImplementedError

    async def get(self, key: str) -> Any:
        raise NotImplementedError

    async def get_model(self, key: str) -> User | None:
        raise NotImplementedError

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        raise NotImplementedError

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        raise NotImplementedError

    async def incr(self, key: str) -> int:
        raise NotImplementedError

    async def tagged_set(self, key: str, value: dict[str, Any], tag: str) -> None:
        raise NotImplementedError

    async def fill_tagged(self, keys: Sequence[str], tag: str) -> None:
        raise NotImplementedError

    async def invalidate(self, tag: str) -> None:
        raise NotImplementedError

    def stampede(self, loader: Loader, *, lock: bool) -> Callable[[str], Awaitable[Any]]:
        """A function of a key that loads through the library's stampede protection."""
        raise NotImplementedError


class Cachewright(Contender):
    name = "cachewright"
    supports_tags = True

    async def open(self) -> None:
        from cachewright import Cache

        self.cache = Cache.from_url(self.url, namespace="cw")
        self.asides: list[Any] = []

    async def close(self) -> None:
        for aside in self.asides:
            await aside.close()
        await self.cache.close()

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await self.cache.set(key, value, ttl=TTL)

    async def get(self, key: str) -> Any:
        return await self.cache.get(key)

    async def get_model(self, key: str) -> User | None:
        return await self.cache.get(key, User)

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        await self.cache.set_many(items, ttl=TTL)

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        return await self.cache.get_many(keys, User)

    async def incr(self, key: str) -> int:
        return await self.cache.incr(key)

    async def tagged_set(self, key: str, value: dict[str, Any], tag: str) -> None:
        await self.cache.set(key, value, ttl=TTL, tags=[tag])

    async def fill_tagged(self, keys: Sequence[str], tag: str) -> None:
        await self.cache.set_many(
            {k: user_dict(i) for i, k in enumerate(keys)}, ttl=600, tags=[tag]
        )

    async def invalidate(self, tag: str) -> None:
        await self.cache.invalidate_tags(tag)

    def stampede(self, loader: Loader, *, lock: bool) -> Callable[[str], Awaitable[Any]]:
        from cachewright.patterns.aside.cache_aside import CacheAside

        async def load(key: str) -> User:
            return User.model_validate(await loader(key))

        aside = CacheAside(self.cache, loader=load, key="st:{}", type=User, ttl=TTL, lock=lock)
        self.asides.append(aside)
        return aside.get


class RawRedis(Contender):
    name = "redis-py"

    async def open(self) -> None:
        from redis.asyncio import Redis

        self.r = Redis(host="127.0.0.1", port=self.port)

    async def close(self) -> None:
        await self.r.aclose()

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await self.r.set("raw:" + key, json.dumps(value), px=TTL * 1000)

    async def get(self, key: str) -> Any:
        raw = await self.r.get("raw:" + key)
        return None if raw is None else json.loads(raw)

    async def get_model(self, key: str) -> User | None:
        raw = await self.r.get("raw:" + key)
        return None if raw is None else User.model_validate_json(raw)

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        async with self.r.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set("raw:" + key, json.dumps(value), px=TTL * 1000)
            await pipe.execute()

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        raws = await self.r.mget(["raw:" + k for k in keys])
        return {
            k: User.model_validate_json(v) for k, v in zip(keys, raws, strict=True) if v is not None
        }

    async def incr(self, key: str) -> int:
        return int(await self.r.incrby("raw:" + key, 1))


class Cashews(Contender):
    name = "cashews"
    supports_tags = True

    async def open(self) -> None:
        from cashews import Cache

        self.c = Cache()
        self.c.setup(self.url, pickle_type="json")
        await self.c.init()

    async def close(self) -> None:
        await self.c.close()

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await self.c.set("cs:" + key, value, expire=TTL)

    async def get(self, key: str) -> Any:
        return await self.c.get("cs:" + key)

    async def get_model(self, key: str) -> User | None:
        value = await self.c.get("cs:" + key)
        return None if value is None else User.model_validate(value)

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        await self.c.set_many({"cs:" + k: v for k, v in items.items()}, expire=TTL)

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        values = await self.c.get_many(*["cs:" + k for k in keys])
        return {
            k: User.model_validate(v) for k, v in zip(keys, values, strict=True) if v is not None
        }

    async def incr(self, key: str) -> int:
        return int(await self.c.incr("cs:" + key))

    async def tagged_set(self, key: str, value: dict[str, Any], tag: str) -> None:
        await self.c.set("cs:" + key, value, expire=TTL, tags=[tag])

    async def fill_tagged(self, keys: Sequence[str], tag: str) -> None:
        for i, key in enumerate(keys):
            await self.c.set("cs:" + key, user_dict(i), expire=600, tags=[tag])

    async def invalidate(self, tag: str) -> None:
        await self.c.delete_tags(tag)

    def stampede(self, loader: Loader, *, lock: bool) -> Callable[[str], Awaitable[Any]]:
        @self.c(ttl=TTL, key="cs:st:{key}", lock=True)
        async def load(key: str) -> Any:
            return await loader(key)

        return load


class Aiocache(Contender):
    name = "aiocache"

    async def open(self) -> None:
        from aiocache import RedisCache
        from aiocache.serializers import JsonSerializer

        self.c = RedisCache(
            endpoint="127.0.0.1", port=self.port, serializer=JsonSerializer(), namespace="ac"
        )

    async def close(self) -> None:
        await self.c.close()

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await self.c.set(key, value, ttl=TTL)

    async def get(self, key: str) -> Any:
        return await self.c.get(key)

    async def get_model(self, key: str) -> User | None:
        value = await self.c.get(key)
        return None if value is None else User.model_validate(value)

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        await self.c.multi_set(list(items.items()), ttl=TTL)

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        values = await self.c.multi_get(list(keys))
        return {
            k: User.model_validate(v) for k, v in zip(keys, values, strict=True) if v is not None
        }

    async def incr(self, key: str) -> int:
        return int(await self.c.increment(key, 1))

    def stampede(self, loader: Loader, *, lock: bool) -> Callable[[str], Awaitable[Any]]:
        from aiocache import RedisCache, cached_stampede
        from aiocache.serializers import JsonSerializer

        @cached_stampede(  # type: ignore[untyped-decorator]  # aiocache is untyped
            lease=2,
            ttl=TTL,
            cache=RedisCache,
            serializer=JsonSerializer(),
            endpoint="127.0.0.1",
            port=self.port,
            pool_max_size=2000,  # the default pool (50) fails 1,000 concurrent callers
            namespace="acst",
            key_builder=lambda f, key: f"st:{key}",
        )
        async def load(key: str) -> Any:
            return await loader(key)

        return cast("Callable[[str], Awaitable[Any]]", load)


CONTENDERS: tuple[type[Contender], ...] = (Cachewright, RawRedis, Cashews, Aiocache)
