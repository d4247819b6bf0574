"""``cachewright warmup``: fill the cache from a data store, with a progress bar.

Usage::

    cachewright --url redis://127.0.0.1:6379/0 warmup \\
        --store myapp.stores:user_store --keys hot_users.txt \\
        --key 'user:{}' --type myapp.models:User --key-type int --ttl 600

It builds the same ``CacheAside`` the application uses (same ``--key`` format, type
and ttl) over the store and calls ``CacheAside.warmup``: one ``get_many`` per chunk,
fills that never overwrite a newer write. Exit code 1 if any key failed to load.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cachewright._cli.exits import ExitCode
from cachewright._cli.params import KeyFormatOpt, KeyTypeOpt, StoreOpt, TypeOpt, parse_key_type
from cachewright._cli.render import console, emit_json, plural
from cachewright._cli.runtime import Options, open_cache, run
from cachewright.settings import Settings

__all__ = ["register"]


def register(app: typer.Typer, options: Callable[[typer.Context], Options]) -> None:
    """Add ``warmup`` to ``app``."""

    @app.command()
    def warmup(
        ctx: typer.Context,
        store: StoreOpt,
        keys: Annotated[
            Path,
            typer.Option("--keys", metavar="FILE", help="Keys, one per line ('-': stdin)."),
        ],
        key: KeyFormatOpt = "{}",
        value_type: TypeOpt = None,
        key_type: KeyTypeOpt = "str",
        ttl: Annotated[
            float | None, typer.Option("--ttl", help="Seconds entries live (default: none).")
        ] = None,
        tags: Annotated[
            list[str] | None, typer.Option("--tag", help="Tag every entry (repeatable).")
        ] = None,
        concurrency: Annotated[
            int, typer.Option("--concurrency", min=1, help="Store calls in flight.")
        ] = 8,
        batch_size: Annotated[
            int, typer.Option("--batch-size", min=1, help="Keys per store call.")
        ] = 500,
        reload: Annotated[
            bool, typer.Option("--reload", help="Reload keys that are already cached.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ) -> None:
        """Load KEYS from a data store into the cache (cache-aside warm-up)."""

        async def body(settings: Settings) -> ExitCode:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            from cachewright._cli.loading import import_type, open_store, read_keys
            from cachewright.patterns.aside.cache_aside import CacheAside

            wanted = read_keys(keys, parse_key_type(key_type) or str)
            tp = import_type(value_type)
            async with open_cache(settings) as cache, open_store(store) as source:
                aside: CacheAside[Any, Any] = CacheAside(
                    cache, loader=source, key=key, type=tp, ttl=ttl, tags=tags
                )
                async with aside:
                    bar = Progress(
                        "[progress.description]{task.description}",
                        BarColumn(),
                        MofNCompleteColumn(),
                        TimeElapsedColumn(),
                        console=console(),
                        disable=as_json,
                        transient=False,
                    )
                    with bar:
                        task = bar.add_task("warming", total=len(wanted))
                        report = await aside.warmup(
                            wanted,
                            concurrency=concurrency,
                            batch_size=batch_size,
                            skip_cached=not reload,
                            progress=lambda done, total: bar.update(task, completed=done),
                        )
            failed = {str(k): repr(error) for k, error in report.failed.items()}
            if as_json:
                emit_json(
                    {
                        "loaded": report.loaded,
                        "skipped": report.skipped,
                        "missing": report.missing,
                        "failed": failed,
                        "duration": report.duration,
                    }
                )
            else:
                out = console()
                out.print(
                    f"loaded {report.loaded}, skipped {report.skipped} (already cached), "
                    f"missing {report.missing} (not in the store), failed {len(failed)} "
                    f"in {report.duration:.2f} s",
                    markup=False,
                    soft_wrap=True,
                )
                for k, error in list(failed.items())[:10]:
                    out.print(f"  failed {k}: {error}", markup=False)
                if len(failed) > 10:
                    out.print(f"  ... and {plural(len(failed) - 10, 'more key')}")
            return ExitCode.FAILURE if failed else ExitCode.OK

        run(options(ctx), body)
