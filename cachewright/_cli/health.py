"""``cachewright health``: is the cache usable? Exit 0 if so, 3 if not: a container probe.

Usage::

    cachewright --url redis://10.0.0.5:6379/0 health            # exit code 0 or 3
    cachewright health --json                                    # CACHEWRIGHT_URL etc.

    # Kubernetes
    readinessProbe:
      exec: {command: ["cachewright", "health"]}

It builds the cache as the application does (the same ``CACHEWRIGHT_*`` settings, so
the local tier too when ``CACHEWRIGHT_LOCAL_MAX_ENTRIES`` is set), calls
:meth:`Cache.ping <cachewright.cache.Cache.ping>` and prints what it found:
reachability, round-trip time, breaker, server version and the local tier's channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from cachewright._cli.exits import ExitCode
from cachewright._cli.render import console, emit_json, fmt
from cachewright._cli.runtime import Options, run

if TYPE_CHECKING:
    from cachewright.cache import Health
    from cachewright.settings import Settings

__all__ = ["register"]


def register(app: typer.Typer, options: Callable[[typer.Context], Options]) -> None:
    """Add ``health`` to ``app``."""

    @app.command()
    def health(
        ctx: typer.Context,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of text.")
        ] = False,
        timeout: Annotated[
            float | None,
            typer.Option(
                "--timeout",
                min=0.001,
                help="Seconds the probe may take. Default: connect plus read timeout.",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Check that the cache's server answers: exit 0 when healthy, 3 when not.

        Healthy: the server answers PING, the circuit breaker is not open and, with a
        local tier, its invalidation channel is up.
        """

        async def body(settings: Settings) -> ExitCode:
            from cachewright.cache import Cache

            async with Cache.from_url(settings.url, settings=settings) as cache:
                found = await cache.ping(timeout=timeout)
            if as_json:
                emit_json(found.as_dict())
            else:
                _show(found)
            return ExitCode.OK if found.healthy else ExitCode.UNAVAILABLE

        run(options(ctx), body)


def _show(found: Health) -> None:
    rtt = "-" if found.rtt is None else f"{found.rtt * 1000:.2f} ms"
    rows = {
        "healthy": fmt(found.healthy),
        "backend": found.backend,
        "reachable": fmt(found.reachable),
        "round trip": rtt,
        "server version": fmt(found.server_version),
        "breaker": found.breaker,
        "local channel": "no local tier" if found.channel is None else found.channel,
    }
    if found.error is not None:
        rows["error"] = found.error
    out = console()
    for name, text in rows.items():
        out.print(f"{name:>14}: {text}", markup=False, soft_wrap=True)
