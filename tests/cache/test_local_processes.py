"""Two and three OS processes, each with a local tier, on one private Redis.

Each peer is this module run as a script (``python -m tests.cache.test_local_processes
URL NAMESPACE``), driven by JSON lines on stdin. Peers keep local copies for a minute,
so nothing but an invalidation message can make a peer read a newer value in time.
Waits are polls with a deadline: "the peer has received N messages", never a sleep.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests._servers import RedisServer, wait_until_async

ROOT = Path(__file__).resolve().parents[2]
PEER_TTL = 60.0
SPAWN_TIMEOUT = 30.0


class Peer:
    """One OS process holding a two-level cache."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self._process = process
        self._log = log

    @classmethod
    async def spawn(cls, name: str, url: str, namespace: str, logs: Path) -> Peer:
        log = logs / f"{name}.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.cache.test_local_processes",
                url,
                namespace,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                cwd=ROOT,
            )
        peer = cls(name, process, log)
        ready = await peer._receive(SPAWN_TIMEOUT)
        assert ready["channel"] == "up", f"{name} could not subscribe: {peer.errors()}"
        return peer

    def errors(self) -> str:
        return self._log.read_text(errors="replace")[-4000:]

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"op": op, **args}).encode() + b"\n")
        await self._process.stdin.drain()
        return await self._receive(10.0)

    async def _receive(self, seconds: float) -> dict[str, Any]:
        assert self._process.stdout is not None
        try:
            async with asyncio.timeout(seconds):
                line = await self._process.stdout.readline()
        except TimeoutError:
            pytest.fail(f"peer {self.name} did not answer: {self.errors()}")
        if not line:
            pytest.fail(f"peer {self.name} exited: {self.errors()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def get(self, key: str) -> Any:
        return (await self.call("get", key=key))["result"]

    async def local_get(self, key: str) -> Any:
        """Read ``key`` and check that the peer's local tier answered."""
        before = (await self.call("stats"))["local_hits"]
        reply = await self.call("get", key=key)
        assert reply["local_hits"] == before + 1, f"{self.name} did not hit locally for {key}"
        return reply["result"]

    async def received(self) -> int:
        return int((await self.call("stats"))["received"])

    async def delivered(self, count: int) -> None:
        """Wait until this peer has received ``count`` invalidation messages."""

        async def arrived() -> bool:
            return await self.received() >= count

        await wait_until_async(arrived, timeout=10)

    async def close(self) -> None:
        if self._process.returncode is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                async with asyncio.timeout(10):
                    await self._process.wait()
            except TimeoutError:
                self._process.kill()  # only ever our own child, by its handle
                await self._process.wait()


async def _spawn(url: str, namespace: str, logs: Path, *names: str) -> list[Peer]:
    return list(await asyncio.gather(*(Peer.spawn(n, url, namespace, logs) for n in names)))


async def _close(peers: list[Peer]) -> None:
    await asyncio.gather(*(peer.close() for peer in peers))


async def test_two_processes_never_read_stale_after_delivery(
    redis_url: str, namespace: str, tmp_path: Path
) -> None:
    a, b = await _spawn(redis_url, namespace, tmp_path, "a", "b")
    try:
        await a.call("set", key="k", value=0)
        # A read racing a message about its key must not fill (the fence); wait for
        # the message so that the reads below fill and then hit locally.
        await b.delivered(1)
        for version in range(1, 9):
            writer, reader = (a, b) if version % 2 else (b, a)
            await reader.get("k")  # fills the reader's tier from Redis
            assert await reader.local_get("k") == version - 1
            seen = await reader.received()
            await writer.call("set", key="k", value=version)
            await reader.delivered(seen + 1)
            # The message is in: the very next read is the new value, from Redis.
            assert await reader.get("k") == version
            assert await writer.get("k") == version  # the writer dropped its own copy
        await b.get("k")
        assert await b.local_get("k") == 8
        seen = await b.received()
        await a.call("delete", key="k")
        await b.delivered(seen + 1)
        assert await b.get("k") is None
    finally:
        await _close([a, b])


async def test_three_processes_share_tag_invalidations_pattern_deletes_and_clears(
    redis_url: str, namespace: str, tmp_path: Path
) -> None:
    a, b, c = await _spawn(redis_url, namespace, tmp_path, "a", "b", "c")
    try:
        await a.call("set", key="u1", value=1, tags=["users"])
        await a.call("set", key="u2", value=2, tags=["users", "admins"])
        await a.call("set", key="p1", value=3, tags=["products"])
        await a.call("set", key="temp:1", value=4)
        await a.call("set", key="temp:2", value=5)
        await a.call("set", key="plain", value=6)
        keys = ["u1", "u2", "p1", "temp:1", "temp:2", "plain"]
        for reader in (b, c):
            await reader.delivered(len(keys))
            for key in keys:
                await reader.get(key)
                await reader.local_get(key)
        seen = {reader.name: await reader.received() for reader in (b, c)}

        assert (await a.call("tags", tags=["users"]))["result"] == 2
        for reader in (b, c):
            await reader.delivered(seen[reader.name] + 1)
            assert await reader.get("u1") is None
            assert await reader.get("u2") is None
            assert await reader.local_get("p1") == 3  # other tags untouched

        assert (await a.call("pattern", pattern="temp:*"))["result"] == 2
        for reader in (b, c):
            await reader.delivered(seen[reader.name] + 2)
            assert await reader.get("temp:1") is None
            assert await reader.get("temp:2") is None
            assert await reader.local_get("plain") == 6

        await a.get("plain")
        await a.local_get("plain")
        seen_a = await a.received()
        await b.call("clear")
        await a.delivered(seen_a + 1)
        await c.delivered(seen["c"] + 3)
        for reader in (a, c):
            assert await reader.get("plain") is None
            assert await reader.get("p1") is None
    finally:
        await _close([a, b, c])


async def test_killed_pubsub_connections_recover_without_stale_reads(
    fresh_redis: RedisServer, namespace: str, tmp_path: Path
) -> None:
    """``CLIENT KILL TYPE pubsub`` drops every peer's subscription. A peer empties and
    bypasses its tier as soon as it sees its connection closed, resubscribes with
    backoff, and empties it again once back: messages sent meanwhile are lost, so
    no copy from before the outage is ever served after it."""
    url = fresh_redis.url
    a, b = await _spawn(url, namespace, tmp_path, "a", "b")
    try:
        await a.call("set", key="k", value=1)
        await b.delivered(1)
        await b.get("k")
        assert await b.local_get("k") == 1

        async with Redis(host="127.0.0.1", port=fresh_redis.port) as admin:
            killed = await admin.client_kill_filter(_type="pubsub")
        assert killed == 2  # one subscription per peer

        async def noticed() -> bool:
            return int((await b.call("stats"))["reconnects"]) >= 1

        await wait_until_async(noticed, timeout=10)
        # Written while b may still be resubscribing: its message may never reach b.
        await a.call("set", key="k", value=2)
        assert await b.get("k") == 2  # bypassed (down) or emptied (back up): fresh

        async def back_up() -> bool:
            return bool((await b.call("stats"))["channel"] == "up")

        await wait_until_async(back_up, timeout=10)

        async def held_locally() -> bool:
            # The message about k=2 may still arrive (if b was back in time) and fence
            # a fill, so poll until a read is answered locally; every read is fresh.
            before = (await b.call("stats"))["local_hits"]
            reply = await b.call("get", key="k")
            assert reply["result"] == 2
            return bool(reply["local_hits"] == before + 1)

        await wait_until_async(held_locally, timeout=10)  # the tier is trusted again

        seen = await b.received()
        await a.call("set", key="k", value=3)  # invalidations flow again
        await b.delivered(seen + 1)
        assert await b.get("k") == 3
    finally:
        await _close([a, b])


# -- the peer process ----------------------------------------------------------------


async def _serve(url: str, namespace: str) -> None:
    from cachewright import Cache
    from cachewright.cache.local import LocalTier

    tier = LocalTier(max_entries=1000, ttl=PEER_TTL, ping_interval=0.5, max_backoff=0.5)
    cache = Cache.from_url(url, namespace=namespace, local=tier)
    async with cache:

        async def reply(result: object = None) -> None:
            local = (await cache.stats(server=False)).local
            assert local is not None
            stats = {
                "local_hits": local.hits,
                "received": local.messages_received,
                "channel": local.channel,
                "reconnects": local.reconnects,
                "entries": local.entries,
            }
            sys.stdout.write(json.dumps({"result": result, **stats}) + "\n")
            sys.stdout.flush()

        await reply()
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return
            request = json.loads(line)
            op = request["op"]
            result: object = None
            if op == "get":
                result = await cache.get(request["key"])
            elif op == "set":
                tags = request.get("tags")
                await cache.set(request["key"], request["value"], ttl=600, tags=tags)
            elif op == "delete":
                result = await cache.delete(request["key"])
            elif op == "tags":
                result = await cache.invalidate_tags(request["tags"])
            elif op == "pattern":
                result = await cache.delete_pattern(request["pattern"])
            elif op == "clear":
                result = await cache.clear()
            await reply(result)


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], sys.argv[2]))
