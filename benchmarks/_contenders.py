"""The clients under test, behind one small interface: cachewright and the floor.

Every contender stores the same values (a ~120-byte JSON object, or a pydantic model
of the same fields) with a 60 s ttl, under its own key prefix on the same server:

- ``cachewright``: ``Cache.from_url(url, namespace="cw")``, its default JSON codec.
- ``redis-py``: the floor, the fastest code a user writes by hand: raw
  ``redis.asyncio.Redis`` with hiredis, values through ``orjson``, typed reads
  validated per value by pydantic. Where two hand-written ways exist, both run as
  *floor variants* (:data:`FLOOR_PREFIX`) and the faster one in the run is the floor:
  ``set_many`` as a pipeline of SET PX or as MSET plus one EXPIRE per key pipelined;
  a typed read as ``model_validate_json`` on the bytes or ``orjson.loads`` then
  ``model_validate``.

The peers (cashews, aiocache) live in :mod:`benchmarks._peers`. A method a contender
does not offer raises ``NotImplementedError`` at setup and the workload skips it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel

__all__ = [
    "FLOOR_PREFIX",
    "FLOOR_WAYS",
    "Getter",
    "Loader",
    "TTL",
    "Cachewright",
    "Contender",
    "RawRedis",
    "RawRedisVariant",
    "User",
    "user_dict",
]

TTL = 60
FLOOR_PREFIX = "redis-py"


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
Getter = Callable[[int], Awaitable[Any]]


class Contender:
    name = ""
    supports_tags = False
    #: a floor variant: the fastest of them per workload is the floor
    floor = False
    #: workload keys this contender runs (None: every workload it offers)
    only: frozenset[str] | None = None

    def __init__(self, url: str, port: int) -> None:
        self.url = url
        self.port = port

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def set(self, key: str, value: dict[str, Any]) -> None:
        raise NotImplementedError

    async def get(self, key: str) -> Any:
        raise NotImplementedError

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        raise NotImplementedError

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        raise NotImplementedError

    async def tagged_set(self, key: str, value: dict[str, Any], tag: str) -> None:
        raise NotImplementedError

    async def fill_tagged(self, keys: Sequence[str], tag: str) -> None:
        raise NotImplementedError

    async def invalidate(self, tag: str) -> None:
        raise NotImplementedError

    def aside(self, loader: Callable[[int], Awaitable[dict[str, Any]]]) -> Getter:
        """A cache-aside read of ``User`` by id through the library's own decorator or
        pattern; the caller gets a ``User``."""
        raise NotImplementedError

    def stampede(
        self, loader: Loader, *, lock: bool, lease: float
    ) -> Callable[[str], Awaitable[Any]]:
        """A function of a key that loads through the library's stampede protection;
        ``lease``: seconds a lock must outlive the loader, for a library that asks."""
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

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        await self.cache.set_many(items, ttl=TTL)

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        return await self.cache.get_many(keys, User)

    async def tagged_set(self, key: str, value: dict[str, Any], tag: str) -> None:
        await self.cache.set(key, value, ttl=TTL, tags=[tag])

    async def fill_tagged(self, keys: Sequence[str], tag: str) -> None:
        await self.cache.set_many(
            {k: user_dict(i) for i, k in enumerate(keys)}, ttl=600, tags=[tag]
        )

    async def invalidate(self, tag: str) -> None:
        await self.cache.invalidate_tags(tag)

    def aside(self, loader: Callable[[int], Awaitable[dict[str, Any]]]) -> Getter:
        from cachewright import CacheAside

        async def load(i: int) -> User:
            return User.model_validate(await loader(i))

        aside = CacheAside(self.cache, loader=load, key="ca:{}", type=User, ttl=TTL)
        self.asides.append(aside)
        return aside.get

    def stampede(
        self, loader: Loader, *, lock: bool, lease: float
    ) -> Callable[[str], Awaitable[Any]]:
        from cachewright import CacheAside

        async def load(key: str) -> User:
            return User.model_validate(await loader(key))

        aside = CacheAside(self.cache, loader=load, key="st:{}", type=User, ttl=TTL, lock=lock)
        self.asides.append(aside)
        return aside.get


class RawRedis(Contender):
    """The floor: redis-py (asyncio, hiredis) + orjson + pydantic, written by hand."""

    name = FLOOR_PREFIX
    floor = True

    async def open(self) -> None:
        from redis.asyncio import Redis

        self.r = Redis(host="127.0.0.1", port=self.port)

    async def close(self) -> None:
        await self.r.aclose()

    async def set(self, key: str, value: dict[str, Any]) -> None:
        await self.r.set("raw:" + key, orjson.dumps(value), px=TTL * 1000)

    async def get(self, key: str) -> Any:
        raw = await self.r.get("raw:" + key)
        return None if raw is None else orjson.loads(raw)

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        async with self.r.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set("raw:" + key, orjson.dumps(value), px=TTL * 1000)
            await pipe.execute()

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        raws = await self.r.mget(["raw:" + k for k in keys])
        validate = User.model_validate_json
        return {k: validate(v) for k, v in zip(keys, raws, strict=True) if v is not None}

    def aside(self, loader: Callable[[int], Awaitable[dict[str, Any]]]) -> Getter:
        r = self.r
        validate = User.model_validate_json

        async def get(i: int) -> User:
            key = f"raw:ca:{i}"
            raw = await r.get(key)
            if raw is not None:
                return validate(raw)
            value = User.model_validate(await loader(i))
            await r.set(key, value.model_dump_json(), px=TTL * 1000)
            return value

        return get


class RawRedisVariant(RawRedis):
    """The other hand-written way for set_many and typed bulk reads (floor variant)."""

    name = f"{FLOOR_PREFIX} (alt)"
    only = frozenset({"set_many", "get_many"})

    async def set_many(self, items: Mapping[str, dict[str, Any]]) -> None:
        keys = ["raw:" + key for key in items]
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.mset(dict(zip(keys, map(orjson.dumps, items.values()), strict=True)))
            for key in keys:
                pipe.pexpire(key, TTL * 1000)
            await pipe.execute()

    async def get_many_models(self, keys: Sequence[str]) -> Any:
        raws = await self.r.mget(["raw:" + k for k in keys])
        loads, validate = orjson.loads, User.model_validate
        return {k: validate(loads(v)) for k, v in zip(keys, raws, strict=True) if v is not None}


#: what each floor variant does, per workload key where they differ
FLOOR_WAYS = {
    ("set_many", RawRedis.name): "a pipeline of SET PX",
    ("set_many", RawRedisVariant.name): "MSET plus PEXPIRE per key, pipelined",
    ("get_many", RawRedis.name): "MGET, model_validate_json per value",
    ("get_many", RawRedisVariant.name): "MGET, orjson.loads + model_validate per value",
}
