"""How a command runs: settings from flags and env, the cache it opens, errors to exit codes.

Usage (inside a command)::

    async def body(settings: Settings) -> ExitCode:
        async with open_cache(settings) as cache:
            ...
        return ExitCode.OK

    run(options, body)          # never returns: exits with the body's code or an error's

Errors a person can act on become one message on stderr and a documented exit code
(:class:`~cachewright._cli.exits.ExitCode`); a traceback is shown only with ``--debug``.
Every message goes through redaction: a password in a URL never reaches the terminal.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import unquote, urlsplit

from cachewright._cli.exits import ExitCode
from cachewright._redact import redact, redact_url
from cachewright.errors import (
    AccessDenied,
    CacheUnavailable,
    CachewrightError,
    ConfigurationError,
    InvalidKey,
    QueueUnavailable,
    StoreUnavailable,
)

if TYPE_CHECKING:
    # Imported where used: ``cachewright --help`` must not load pydantic and Redis.
    from pydantic import ValidationError

    from cachewright.cache import Cache
    from cachewright.settings import Settings

__all__ = ["Options", "fail", "open_cache", "run", "server_of"]


@dataclass(frozen=True, slots=True)
class Options:
    """The global flags; each one given overrides its ``CACHEWRIGHT_*`` variable."""

    url: str | None = None
    namespace: str | None = None
    debug: bool = False

    def settings(self) -> Settings:
        from cachewright.settings import Settings

        given: dict[str, Any] = {"url": self.url, "namespace": self.namespace}
        return Settings(**{name: value for name, value in given.items() if value is not None})


def server_of(url: str) -> str:
    """The host:port (or socket path) a URL names, for messages: never the credentials.

    >>> server_of("redis://app:s3cret@10.0.0.5:6380/0")
    '10.0.0.5:6380'
    """
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return unquote(parts.path) or url
    netloc = parts.netloc.rpartition("@")[2]
    if parts.scheme.startswith(("redis", "rediss")) and netloc and ":" not in netloc:
        netloc += ":6379"
    return netloc or redact_url(url)


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


@asynccontextmanager
async def open_cache(settings: Settings, *, quiet_memory: bool = False) -> AsyncIterator[Cache]:
    """The configured cache, checked with a ping (reads fail open, so a dead server
    would otherwise look like an empty cache), closed on exit."""
    from cachewright.cache import Cache

    cache = Cache.from_url(settings.url, settings=settings)
    if settings.url.startswith("memory://") and not quiet_memory:
        _err(
            "note: memory:// lives inside one process, so this command sees an empty cache;"
            " point --url or CACHEWRIGHT_URL at the Redis your application uses"
        )
    try:
        await cache.backend.ping()
        yield cache
    finally:
        await cache.close()


def _err(message: str) -> None:
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``message`` as an error and exit with ``code``."""
    _err(f"error: {message}")
    raise SystemExit(int(code))


def _unreachable(settings: Settings, exc: BaseException, what: str = "the cache") -> str:
    url = settings.url
    where = server_of(url)
    detail = redact(str(exc), _password(url))
    return (
        f"cannot reach {what} at {where} ({redact_url(url)})\n"
        f"  cause: {detail}\n"
        f"  check: is Redis running and listening on {where}? Are the host, port, user,\n"
        f"         password and database right in --url or CACHEWRIGHT_URL? Use rediss://\n"
        f"         for TLS. A slow network may need a larger CACHEWRIGHT_CONNECT_TIMEOUT\n"
        f"         (now {settings.connect_timeout:g} s)."
    )


def _invalid_settings(exc: ValidationError) -> str:
    lines = ["invalid configuration:"]
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"])
        lines.append(f"  CACHEWRIGHT_{field.upper()}: {error['msg']}")
    return "\n".join(lines)


def run(options: Options, body: Callable[[Settings], Coroutine[Any, Any, ExitCode]]) -> NoReturn:
    """Run ``body`` on a fresh event loop and exit with its code, mapping errors."""
    from pydantic import ValidationError

    if options.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = options.settings()
    except ValidationError as exc:
        fail(_invalid_settings(exc), ExitCode.USAGE)
    secret = _password(settings.url)
    try:
        code = asyncio.run(body(settings))
    except KeyboardInterrupt:
        _err("interrupted")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    except (SystemExit, asyncio.CancelledError):
        raise
    except BaseException as exc:  # every other error ends as a message and an exit code
        code, message = _classify(settings, exc)
        if options.debug:
            # Redacted too: a third-party message deep in the chain may repeat the URL.
            _err(redact("".join(traceback.format_exception(exc)), secret))
        else:
            message += (
                "\n  (run with --debug for the traceback)" if code is ExitCode.FAILURE else ""
            )
        fail(redact(message, secret), code)
    raise SystemExit(int(code))


def _classify(settings: Settings, exc: BaseException) -> tuple[ExitCode, str]:
    from pydantic import ValidationError

    name = type(exc).__name__
    if isinstance(exc, AccessDenied):  # not an outage: the URL or the ACL needs fixing
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, CacheUnavailable):
        return ExitCode.UNAVAILABLE, _unreachable(settings, exc)
    if isinstance(exc, QueueUnavailable):
        return ExitCode.UNAVAILABLE, _unreachable(settings, exc, "the write-behind queue")
    if isinstance(exc, StoreUnavailable):
        return ExitCode.UNAVAILABLE, f"the data store cannot be reached: {exc}"
    if isinstance(exc, ConfigurationError | InvalidKey):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, ValidationError):
        return ExitCode.USAGE, _invalid_settings(exc)
    if isinstance(exc, CachewrightError):
        return ExitCode.FAILURE, f"{name}: {exc}"
    return ExitCode.FAILURE, f"unexpected {name}: {exc}"
