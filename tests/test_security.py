"""G13 security: pickle only by opt-in and signed, TLS and ACL through the URL, secrets
never in logs, reprs or errors, namespaces isolating tenants.

Every Redis here is private to the test (TLS, ACL) or the session's (the rest); the
certificates are made by the test with ``openssl``.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from cachewright import Cache, Settings
from cachewright.cache.backends.memory import MemoryBackend
from cachewright.errors import (
    AccessDenied,
    AuthenticationFailed,
    CacheError,
    CacheUnavailable,
    CachewrightError,
    ConfigurationError,
    PermissionDenied,
)
from cachewright.stores import SQLStore
from tests._servers import RedisServer, free_port, need, redis_binary
from tests.faults._tls import Certs, make_certs, openssl_binary

pytestmark = [pytest.mark.redis]

KEY = "pickle-hmac-key-0123456789"
SECRET = "s3cr3t-Pw9z"  # distinctive, so a leak cannot hide behind a common word


def pickling(key: str = KEY) -> Settings:
    return Settings(allow_pickle=True, pickle_key=key)


class Point:
    """Not JSON: only pickle can carry it."""

    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x

    def __hash__(self) -> int:
        return hash(self.x)


# -- pickle ---------------------------------------------------------------------------


def test_pickle_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="pickle_key"):
        Cache.from_url("memory://", settings=Settings(allow_pickle=True))


def test_a_short_pickle_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="16 bytes"):
        Cache.from_url("memory://", settings=pickling("short"))


async def test_pickle_is_off_by_default_and_a_pickle_value_is_refused() -> None:
    assert Settings().allow_pickle is False
    async with Cache.from_url("memory://") as cache:
        with pytest.raises(CachewrightError):
            await cache.set("p", Point(1))


@pytest.fixture(params=["memory", "redis"])
async def backend_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("redis_url")
    return url


async def _pair(url: str, namespace: str, reader: Settings) -> tuple[Cache, Cache]:
    """A pickling writer and a reader with ``reader`` settings on the same storage."""
    if url == "memory://":
        shared = MemoryBackend()
        return (
            Cache(shared, namespace=namespace, settings=pickling()),
            Cache(shared, namespace=namespace, settings=reader),
        )
    return (
        Cache.from_url(url, namespace=namespace, settings=pickling()),
        Cache.from_url(url, namespace=namespace, settings=reader),
    )


async def test_a_pickled_entry_reads_as_a_miss_where_pickle_is_off(
    backend_url: str, namespace: str
) -> None:
    writer, reader = await _pair(backend_url, namespace, Settings())
    async with writer, reader:
        await writer.set("p", Point(3))
        assert await writer.get("p") == Point(3)
        assert await reader.get("p") is None
        assert await reader.get_entry("p") is None
        assert await reader.get_many(["p"]) == {}


async def test_a_pickled_entry_signed_with_another_key_reads_as_a_miss(
    backend_url: str, namespace: str
) -> None:
    writer, reader = await _pair(backend_url, namespace, pickling("another-key-0123456789"))
    async with writer, reader:
        await writer.set("p", Point(4))
        assert await reader.get("p") is None


@pytest.mark.parametrize("where", ["signature", "body", "truncated", "appended"])
async def test_a_tampered_pickle_reads_as_a_miss(
    backend_url: str, namespace: str, where: str
) -> None:
    writer, reader = await _pair(backend_url, namespace, Settings())
    async with writer, reader:
        await writer.set("p", Point(5))
        physical = writer.keys.entry("p")
        raw = await writer.backend.get(physical)
        assert raw is not None
        body = pickle.dumps(Point(5), protocol=pickle.HIGHEST_PROTOCOL)
        assert raw.endswith(body)
        signature_at = len(raw) - len(body) - 32  # HMAC-SHA256, then the pickle
        data = bytearray(raw)
        if where == "signature":
            data[signature_at] ^= 0x01
        elif where == "body":
            data[len(raw) - len(body) // 2] ^= 0x40
        elif where == "truncated":
            data = data[:-3]
        else:
            data += b"."
        await writer.backend.set(physical, bytes(data), None)
        assert await writer.get("p") is None
        assert await writer.get_entry("p") is None


async def test_a_forged_pickle_never_runs(backend_url: str, namespace: str) -> None:
    """Bytes that would run code when unpickled, under the envelope of a real entry
    but without a valid signature, are never unpickled."""
    ran: list[int] = []

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[int]]:
            return (ran.append, (1,))

    writer, reader = await _pair(backend_url, namespace, Settings())
    async with writer, reader:
        await writer.set("p", Point(6))
        physical = writer.keys.entry("p")
        raw = await writer.backend.get(physical)
        assert raw is not None
        body = pickle.dumps(Point(6), protocol=pickle.HIGHEST_PROTOCOL)
        assert raw.endswith(body)
        forged = raw[: len(raw) - len(body)] + pickle.dumps(Boom())
        await writer.backend.set(physical, forged, None)
        assert await writer.get("p") is None
        assert ran == []


# -- TLS ------------------------------------------------------------------------------


class TlsRedis(RedisServer):
    """redis-server with only a TLS port (``--port 0``)."""

    def __init__(self, certs: Certs) -> None:
        super().__init__()
        self.tls_port = free_port()
        self.extra_args = [
            "--port", "0",
            "--tls-port", str(self.tls_port),
            "--tls-cert-file", str(certs.cert),
            "--tls-key-file", str(certs.key),
            "--tls-ca-cert-file", str(certs.ca),
            "--tls-auth-clients", "no",
        ]  # fmt: skip

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {(self.dir / 'redis.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.2):
                return True
        except OSError:
            return False


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    if openssl_binary() is None:
        need("openssl CLI not found")
    return make_certs(tmp_path / "certs")


@pytest.fixture
def tls_redis(certs: Certs) -> Iterator[TlsRedis]:
    if redis_binary() is None:
        need("redis-server binary not found")
    server = TlsRedis(certs)
    try:
        server.start()
    except (RuntimeError, TimeoutError) as exc:
        server.cleanup()
        need(f"redis-server without TLS support: {exc}")
    try:
        yield server
    finally:
        server.cleanup()


async def test_tls_with_the_ca_file_in_the_url(tls_redis: TlsRedis, certs: Certs) -> None:
    url = f"rediss://127.0.0.1:{tls_redis.tls_port}/0?ssl_ca_certs={certs.ca}"
    async with Cache.from_url(url, namespace="tls") as cache:
        await cache.set("k", {"a": 1}, tags=["t"])
        assert await cache.get("k") == {"a": 1}
        assert await cache.invalidate_tags("t") == 1


async def test_tls_refuses_a_server_it_cannot_verify(tls_redis: TlsRedis) -> None:
    """Without the CA the default (verify) fails: a read misses, a write raises."""
    url = f"rediss://127.0.0.1:{tls_redis.tls_port}/0"
    settings = Settings(connect_timeout=2, read_timeout=2)
    async with Cache.from_url(url, namespace="tls", settings=settings) as cache:
        assert await cache.get("k") is None
        with pytest.raises(CacheError):
            await cache.set("k", 1)


async def test_plain_redis_to_a_tls_port_fails_cleanly(tls_redis: TlsRedis) -> None:
    url = f"redis://127.0.0.1:{tls_redis.tls_port}/0"
    settings = Settings(connect_timeout=1, read_timeout=1)
    async with Cache.from_url(url, namespace="tls", settings=settings) as cache:
        async with asyncio.timeout(10):
            assert await cache.get("k") is None
            with pytest.raises(CacheError):
                await cache.set("k", 1)


# -- ACL ------------------------------------------------------------------------------


@pytest.fixture
async def acl_redis() -> AsyncIterator[RedisServer]:
    if redis_binary() is None:
        need("redis-server binary not found")
    server = RedisServer().start()
    admin = Redis(host="127.0.0.1", port=server.port)
    try:
        # The app user: its namespace's entries (ns:*) and bookkeeping (ns~*) only;
        # "other" has rights on another namespace; "reader" may only GET.
        for rules in (
            ["app", "on", f">{SECRET}", "~ns:*", "~ns~*", "+@all", "-@dangerous"],
            ["other", "on", f">{SECRET}", "~other:*", "+@all", "-@dangerous"],
            ["reader", "on", f">{SECRET}", "~ns:*", "+get"],
        ):
            await admin.execute_command("ACL", "SETUSER", *rules)  # type: ignore[no-untyped-call]
        yield server
    finally:
        await admin.aclose()
        server.cleanup()


async def test_an_acl_user_limited_to_its_namespace_works(acl_redis: RedisServer) -> None:
    url = f"redis://app:{SECRET}@127.0.0.1:{acl_redis.port}/0"
    async with Cache.from_url(url, namespace="ns") as cache:
        await cache.set("a", 1, ttl=60, tags=["t"])
        await cache.set_many({"b": 2, "c": 3}, tags=["t"])
        assert await cache.get("a", int) == 1
        assert await cache.get_many(["a", "b", "c"], int) == {"a": 1, "b": 2, "c": 3}
        assert await cache.incr("n", 2) == 2
        assert await cache.touch("a", 30)
        assert await cache.delete_pattern("b") == 1
        assert await cache.invalidate_tags("t") == 2
        await cache.set("d", 4, sliding=10)
        assert await cache.get("d", int) == 4
        assert await cache.clear() >= 1
        assert SECRET not in repr(cache)


@pytest.mark.parametrize("user", ["other", "reader"])
async def test_a_user_without_rights_gets_a_typed_error(
    acl_redis: RedisServer, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"redis://{user}:{SECRET}@127.0.0.1:{acl_redis.port}/0"
    async with Cache.from_url(url, namespace="ns") as cache:
        with pytest.raises(PermissionDenied) as raised:
            await cache.set("a", 1)
        assert isinstance(raised.value, AccessDenied)
        assert "permission" in str(raised.value).lower()
        assert "ACL GETUSER" in str(raised.value)  # what to check
        assert await cache.get("a") is None  # reads fail open, logged
        assert (await cache.stats(server=False)).circuit_state == "open"
    _no_secret(caplog, raised.value)


async def test_a_wrong_password_is_a_typed_error(acl_redis: RedisServer) -> None:
    url = f"redis://app:wrong-{SECRET}@127.0.0.1:{acl_redis.port}/0"
    async with Cache.from_url(url, namespace="ns") as cache:
        with pytest.raises(AuthenticationFailed) as raised:
            await cache.set("a", 1)
        assert (await cache.stats(server=False)).circuit_state == "open"
    assert isinstance(raised.value, AccessDenied)
    assert "check the user name and password" in str(raised.value)
    assert SECRET not in "".join(traceback.format_exception(raised.value))


# -- secrets in logs, reprs and errors ------------------------------------------------


def _no_secret(caplog: pytest.LogCaptureFixture, *errors: BaseException) -> None:
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "".join(traceback.format_exception(record.exc_info[1]))
        assert SECRET not in text, f"secret in a log line: {text}"
    for error in errors:
        text = "".join(traceback.format_exception(error)) + repr(error)
        assert SECRET not in text, f"secret in an error: {text}"


async def test_no_secret_from_an_unreachable_redis(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"redis://u:{SECRET}@127.0.0.1:1/0"
    settings = Settings(connect_timeout=0.2, read_timeout=0.2, breaker_threshold=2)
    errors: list[BaseException] = []
    cache = Cache.from_url(url, namespace="ns", settings=settings)
    async with cache:
        assert SECRET not in repr(cache)
        assert SECRET not in repr(cache.backend)
        for _ in range(4):  # past the breaker's threshold: CircuitOpen too
            assert await cache.get("k") is None
            try:
                await cache.set("k", 1)
            except CacheUnavailable as exc:
                errors.append(exc)
        stats = await cache.stats()
        assert SECRET not in repr(stats)
    assert len(errors) == 4
    _no_secret(caplog, *errors)


async def test_no_secret_in_a_bad_redis_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    for url in (
        f"redis://u:{SECRET}@127.0.0.1:99999/0",
        f"redis://u:{SECRET}@127.0.0.1:6379/x",
        f"redis://u:{SECRET}@127.0.0.1:6379/0?bogus=1",
        f"ftp://u:{SECRET}@127.0.0.1/0",
        f"redis://127.0.0.1:6379/0?password={SECRET}&bogus=1",
    ):
        with pytest.raises(ConfigurationError) as raised:
            Cache.from_url(url)
        errors.append(raised.value)
    _no_secret(caplog, *errors)


async def test_no_secret_from_an_unreachable_postgres(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pytest.importorskip("asyncpg")
    url = f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:1/x"
    store = SQLStore(url, "t", type=int, key_type=int)
    errors: list[BaseException] = []
    try:
        assert SECRET not in repr(store)
        for call in (store.get(1), store.set(1, 1), store.get_many([1, 2])):
            try:
                async with asyncio.timeout(30):
                    await call
            except CachewrightError as exc:
                errors.append(exc)
    finally:
        await store.close()
    assert len(errors) == 3
    _no_secret(caplog, *errors)


# -- namespaces -----------------------------------------------------------------------


async def test_namespaces_isolate_tenants(redis_url: str, namespace: str) -> None:
    # "ns" and "nsx": one is a prefix of the other, the separator keeps them apart.
    async with (
        Cache.from_url(redis_url, namespace=namespace) as mine,
        Cache.from_url(redis_url, namespace=namespace + "x") as theirs,
    ):
        for cache in (mine, theirs):
            await cache.set("user:1", 1, tags=["users"])
            await cache.set("user:2", 2, tags=["users"])
            await cache.set("*", 3, tags=["all"])
            await cache.set_many({"a": 4, "b": 5}, tags=["letters"])
            await cache.incr("n", 1)

        assert await mine.delete_pattern("*") == 1  # only the key named "*"
        assert await mine.get("user:1") == 1
        assert await mine.delete_pattern("user:*", raw=True) == 2
        assert await mine.invalidate_tags(["users", "letters", "all"]) == 2
        assert await mine.clear() >= 1
        for key in ("user:1", "user:2", "*", "a", "b", "n"):
            assert await mine.get(key) is None

        assert await theirs.get_many(["user:1", "user:2", "*", "a", "b"]) == {
            "user:1": 1,
            "user:2": 2,
            "*": 3,
            "a": 4,
            "b": 5,
        }
        assert await theirs.incr("n", 0) == 1
        assert await theirs.invalidate_tags("users") == 2  # their tag index is intact
        await theirs.clear()


@pytest.mark.parametrize("bad", ["a:b", "a~b", "a*", "a?", "a[b]", "a b", "x" * 65])
def test_a_namespace_cannot_reach_into_another(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        Cache.from_url("memory://", namespace=bad)


def test_an_empty_namespace_is_refused_not_defaulted() -> None:
    with pytest.raises(ConfigurationError):
        Cache.from_url("memory://", namespace="")
