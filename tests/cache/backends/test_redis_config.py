"""Building a RedisBackend: URLs, ACL users, unix sockets, Sentinel, redaction (G13)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import (
    AccessDenied,
    AuthenticationFailed,
    CacheUnavailable,
    CircuitOpen,
    ConfigurationError,
)
from cachewright.settings import Settings
from tests._servers import RedisServer, free_port, need, redis_binary, wait_until
from tests.cache.backends.conftest import Names

FAST = Settings(connect_timeout=0.5, read_timeout=0.5)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/0",
        "memory://",
        "redis://",
        "redis://127.0.0.1:port/0",
        "redis://127.0.0.1:70000/0",
        "redis://127.0.0.1:6379/zero",
        "redis://127.0.0.1:6379/0/extra",
        "redis://127.0.0.1:6379/0?db=1",
        "redis://127.0.0.1:6379/0?bogus=1",
        "redis://127.0.0.1:6379/0?socket_timeout=soon",
        "redis://a:6379,b:6379/0",
        "redis+sentinel://127.0.0.1:26379",
        "redis+cluster://127.0.0.1:7000/3",
        "unix://",
    ],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        RedisBackend.from_url(url)


def test_cluster_option_needs_a_tcp_url() -> None:
    with pytest.raises(ConfigurationError):
        RedisBackend.from_url("unix:///tmp/redis.sock", cluster=True)


@pytest.mark.parametrize(
    ("url", "mode"),
    [
        ("redis://127.0.0.1:6379/2", "standalone"),
        ("rediss://app:pw@cache.example:6380/0?ssl_cert_reqs=none", "standalone"),
        ("unix:///run/redis.sock?db=3", "standalone"),
        ("redis://[::1]:6379/0", "standalone"),
        ("redis+sentinel://app:pw@10.0.0.1:26379,10.0.0.2/mymaster/1", "sentinel"),
        ("redis+cluster://10.0.0.1:7000,10.0.0.2:7001", "cluster"),
        ("valkeys+cluster://10.0.0.1:7000", "cluster"),
        ("valkey://127.0.0.1:6379/0?timeout=2", "standalone"),
    ],
)
async def test_urls_name_their_topology(url: str, mode: str) -> None:
    backend = RedisBackend.from_url(url)  # nothing connects before the first command
    try:
        assert backend.mode == mode
        assert "pw" not in repr(backend)
    finally:
        await backend.close()


async def test_cluster_option_reads_a_redis_url_as_a_cluster() -> None:
    backend = RedisBackend.from_url("redis://127.0.0.1:7000", cluster=True)
    assert backend.mode == "cluster"
    await backend.close()


async def test_the_password_never_shows() -> None:
    backend = RedisBackend.from_url("redis://user:hunter2@127.0.0.1:1/0", settings=FAST)
    try:
        assert "hunter2" not in repr(backend)
        assert "user:***@127.0.0.1:1" in repr(backend)
        with pytest.raises(CacheUnavailable) as caught:
            await backend.get("k")
        assert "hunter2" not in str(caught.value)
        assert "hunter2" not in repr(caught.value)
    finally:
        await backend.close()
    with pytest.raises(ConfigurationError) as bad:
        RedisBackend.from_url("redis://user:hunter2@127.0.0.1:1/0?bogus=1")
    assert "hunter2" not in str(bad.value)


async def test_an_unreachable_cluster_is_unavailable() -> None:
    backend = RedisBackend.from_url(f"redis+cluster://127.0.0.1:{free_port()}", settings=FAST)
    try:
        with pytest.raises(CacheUnavailable):
            await backend.get("k")
    finally:
        await backend.close()


async def test_acl_users_work_and_a_wrong_password_is_not_an_outage(
    redis_url: str, names: Names
) -> None:
    user = f"cw-{names.namespace}"
    admin = Redis.from_url(redis_url)
    await admin.acl_setuser(
        user, enabled=True, passwords=["+s3cret-pw"], keys=["*"], commands=["+@all"]
    )
    base = redis_url.removeprefix("redis://")
    good = RedisBackend.from_url(f"redis://{user}:s3cret-pw@{base}", settings=FAST)
    bad = RedisBackend.from_url(f"redis://{user}:wrong-pw@{base}", settings=FAST)
    try:
        await good.set(names.key("acl"), b"v", 10_000)
        assert await good.get(names.key("acl")) == b"v"
        with pytest.raises(AuthenticationFailed) as caught:
            await bad.get(names.key("acl"))
        assert isinstance(caught.value, AccessDenied)  # not an outage to wait out
        assert not isinstance(caught.value, CircuitOpen)
        assert "wrong-pw" not in str(caught.value)
        assert "check the user name and password" in str(caught.value)
    finally:
        await good.close()
        await bad.close()
        await admin.acl_deluser(user)
        await admin.aclose()


async def test_a_client_of_ours_stays_open_unless_handed_over(redis_url: str, names: Names) -> None:
    client = Redis.from_url(redis_url)
    backend = RedisBackend(client)
    await backend.set(names.key("mine"), b"v", 10_000)
    await backend.close()
    assert await client.get(names.key("mine")) == b"v"  # still usable
    owned = RedisBackend(client, close_client=True)
    assert owned.mode == "standalone"
    assert "127.0.0.1" in repr(owned)
    await owned.close()


async def test_a_decoding_client_is_refused(redis_url: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(ConfigurationError):
            RedisBackend(client)
    finally:
        await client.aclose()


@pytest.fixture
def unix_server(tmp_path: Path) -> Iterator[RedisServer]:
    if redis_binary() is None:
        need("redis-server binary not found")
    socket = tmp_path / "redis.sock"
    server = RedisServer(extra_args=["--unixsocket", str(socket), "--unixsocketperm", "700"])
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


async def test_unix_socket(unix_server: RedisServer, tmp_path: Path) -> None:
    backend = RedisBackend.from_url(f"unix://{tmp_path / 'redis.sock'}?db=2", settings=FAST)
    try:
        await backend.set("k", b"v", None)
        assert await backend.get("k") == b"v"
        assert (await backend.info())["keys"] == 1
    finally:
        await backend.close()


@pytest.fixture
def sentinel_port(fresh_redis: RedisServer, tmp_path: Path) -> Iterator[int]:
    """A private Sentinel monitoring ``fresh_redis`` as ``mymaster``."""
    binary = redis_binary()
    assert binary is not None
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\nlogfile {tmp_path / 'sentinel.log'}\n"
        f"sentinel monitor mymaster 127.0.0.1 {fresh_redis.port} 1\n"
    )
    process = subprocess.Popen(
        [binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def ready() -> bool:
        out = subprocess.run(
            ["redis-cli", "-p", str(port), "sentinel", "get-master-addr-by-name", "mymaster"],
            capture_output=True, timeout=2, check=False,
        )  # fmt: skip
        return str(fresh_redis.port).encode() in out.stdout

    try:
        wait_until(ready, timeout=10)
        yield port
    finally:
        process.terminate()
        process.wait(10)


async def test_sentinel(sentinel_port: int, names: Names) -> None:
    backend = RedisBackend.from_url(
        f"redis+sentinel://127.0.0.1:{sentinel_port}/mymaster/0", settings=FAST
    )
    try:
        assert backend.mode == "sentinel"
        await backend.set(names.key("s"), b"via sentinel", None, [names.tag("s")])
        assert await backend.get(names.key("s")) == b"via sentinel"
        assert (await backend.info())["mode"] == "sentinel"
        assert await backend.invalidate_tags([names.tag("s")]) == 1
    finally:
        await backend.close()
