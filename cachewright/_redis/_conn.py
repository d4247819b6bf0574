"""The lane's kept connection, below the lane: reading replies, noticing a connection
the server closed while idle, naming it in errors, and redis-py 8's recorder.

Usage (what :class:`~cachewright._redis.lane.Lane` does)::

    reply = await read_one(conn, 1)                 # or read_all(conn, n): error replies kept
    if await closed_while_idle(conn): ...           # the pool's own idle check
    if observed(): await recorder().record_operation_duration(...)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

try:  # redis-py 8: the recorder behind its OpenTelemetry metrics, and its switch
    from redis.asyncio.observability import recorder as _recorder
    from redis.observability import get_observability_instance as _observability
except ImportError:  # pragma: no cover - older redis-py has nothing to report to
    _recorder = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection

__all__ = [
    "closed_while_idle",
    "observed",
    "read_all",
    "read_one",
    "recorder",
    "report_error",
    "where",
]


def observed() -> bool:
    """Whether the installed redis-py records metrics and has them switched on."""
    return _recorder is not None and bool(_observability().is_enabled())


def recorder() -> Any:
    """redis-py 8's async recorder (call only when :func:`observed`)."""
    assert _recorder is not None
    return _recorder


async def read_one(conn: AbstractConnection, count: int) -> Any:
    return await conn.read_response()


async def read_all(conn: AbstractConnection, count: int) -> list[Any]:
    replies: list[Any] = []
    for _ in range(count):
        try:
            replies.append(await conn.read_response())
        except ResponseError as exc:
            replies.append(exc)
    return replies


async def closed_while_idle(conn: AbstractConnection) -> bool:
    """Whether the server closed (or wrote on) the idle connection: the pool's own check.

    Nothing of ours went out on it since the last reply, so reconnecting cannot run a
    command twice. redis-py 8 names the check ``can_read``; 5.x-7.x
    ``can_read_destructive`` (deprecated in 8).
    """
    check: Callable[[], Awaitable[bool]] | None = getattr(conn, "can_read", None)
    if check is None:
        check = conn.can_read_destructive
    try:
        return bool(await check())
    except (RedisConnectionError, OSError):
        return True


async def report_error(conn: AbstractConnection, exc: Exception, retries: int) -> None:
    host: Any = getattr(conn, "host", None)  # a unix socket connection has none
    port: Any = getattr(conn, "port", None)
    await recorder().record_error_count(
        server_address=host,
        server_port=port,
        network_peer_address=host,
        network_peer_port=port,
        error_type=exc,
        retry_attempts=retries,
        is_internal=False,
    )


def where(conn: AbstractConnection) -> str:
    path = getattr(conn, "path", None)
    if path:
        return f"at {path}"
    return f"at {getattr(conn, 'host', '?')}:{getattr(conn, 'port', '?')}"
