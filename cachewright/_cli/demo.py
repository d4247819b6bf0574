"""``cachewright demo``: the three patterns at work, with timings, in under a second.

Usage::

    cachewright demo                                  # memory cache + SQLite in a temp dir
    cachewright --url redis://127.0.0.1:6379/0 demo   # the same on Redis (own namespace)

The steps live in :mod:`cachewright._cli.demo_steps`, imported when the command runs,
so the other commands never pay for (or depend on) the pattern modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from cachewright._cli.exits import ExitCode
from cachewright._cli.runtime import Options, run

if TYPE_CHECKING:
    from cachewright.settings import Settings

__all__ = ["register"]


def register(app: typer.Typer, options: Callable[[typer.Context], Options]) -> None:
    """Add ``demo`` to ``app``."""

    @app.command()
    def demo(ctx: typer.Context) -> None:
        """Run the patterns on the embedded default (no Redis needed) or on --url.

        Shows cache-aside misses then hits, a stampede collapsed to one load,
        write-through, write-behind with a flush, tag invalidation and the stats.
        On Redis it uses a namespace of its own and removes its keys at the end.
        """
        opts = options(ctx)

        async def body(settings: Settings) -> ExitCode:
            from cachewright._cli.demo_steps import run_demo

            return await run_demo(settings, own_namespace=opts.namespace is None)

        run(opts, body)
