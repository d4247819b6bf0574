"""``cachewright warmup``: fill the cache from a data store, with a progress bar.

Usage::

    cachewright --url redis://127.0.0.1:6379/0 warmup \\
        --store myapp.stores:user_store --keys hot_users.txt \\
        --key 'user:{}' --type myapp.models:User --key-type int --ttl 600

It builds the same ``CacheAside`` the application uses (same ``--key`` format, type
and ttl; without ``--ttl``, CacheAside's default) over the store and calls
``CacheAside.warmup``: one ``get_many`` per chunk, fills that never overwrite a newer
write. Exit code 1 if any key failed to load.

The first chunks are small (1, then 8, then 64 keys per store call) and only then
``--batch-size``: the progress bar moves as soon as the first keys are in, instead of
waiting for a whole first round of large chunks; it costs a few more store calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cachewright._cli.exits import ExitCode
from cachewright._cli.params import KeyFormatOpt, KeyTypeOpt, StoreOpt, TypeOpt
from cachewright._cli.render import console, emit_json, plural
from cachewright._cli.runtime import Options, fail, open_cache, run

if TYPE_CHECKING:
    from cachewright.patterns.aside import CacheAside, WarmupReport
    from cachewright.settings import Settings

__all__ = ["phases", "register", "warm_in_phases"]

#: keys per store call of the first round of chunks, growing this much a round
_FIRST_CHUNK = 1
_GROWTH = 8


def phases(count: int, batch_size: int, workers: int) -> list[tuple[int, int, int]]:
    """``(start, stop, chunk size)`` slices of ``count`` keys: one round of ``workers``
    small chunks, growing, then ``batch_size`` chunks for the rest.

    >>> phases(1000, 500, 2)
    [(0, 2, 1), (2, 18, 8), (18, 146, 64), (146, 1000, 500)]
    """
    found: list[tuple[int, int, int]] = []
    start, size = 0, _FIRST_CHUNK
    while start < count and size < batch_size:
        stop = min(count, start + size * workers)
        found.append((start, stop, size))
        start, size = stop, size * _GROWTH
    if start < count:
        found.append((start, count, batch_size))
    return found


async def warm_in_phases(
    aside: CacheAside[Any, Any],
    keys: Sequence[Any],
    *,
    concurrency: int,
    batch_size: int,
    skip_cached: bool,
    progress: Callable[[int], object],
) -> WarmupReport:
    """``aside.warmup`` over ``keys`` in :func:`phases`, as one report."""
    from cachewright.patterns.aside import WarmupReport

    loaded = skipped = missing = 0
    failed: dict[Any, Any] = {}
    duration = 0.0

    def after(offset: int) -> Callable[[int, int], object]:
        return lambda done, _total: progress(offset + done)

    for start, stop, size in phases(len(keys), batch_size, concurrency):
        report = await aside.warmup(
            keys[start:stop],
            concurrency=concurrency,
            batch_size=size,
            skip_cached=skip_cached,
            progress=after(start),
        )
        loaded += report.loaded
        skipped += report.skipped
        missing += report.missing
        failed.update(report.failed)
        duration += report.duration
    return WarmupReport(
        loaded=loaded, skipped=skipped, missing=missing, failed=failed, duration=duration
    )


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
            float | None,
            typer.Option(
                "--ttl",
                min=0.001,
                help="Seconds entries live. Default: CacheAside's (600 s).",
                show_default=False,
            ),
        ] = None,
        no_expiry: Annotated[
            bool, typer.Option("--no-expiry", help="Entries never expire (instead of --ttl).")
        ] = False,
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
        if no_expiry and ttl is not None:
            fail("give --ttl or --no-expiry, not both", ExitCode.USAGE)
        # Without either, CacheAside's own default applies: the application's entries
        # and the warmed ones live as long.
        life: dict[str, Any] = {"ttl": None} if no_expiry else {} if ttl is None else {"ttl": ttl}

        async def body(settings: Settings) -> ExitCode:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            from cachewright._cli.loading import import_type, open_store, read_keys
            from cachewright.patterns.aside import CacheAside

            wanted = read_keys(keys, import_type(key_type, "--key-type") or str)
            tp = import_type(value_type)
            async with open_cache(settings) as cache, open_store(store) as source:
                aside: CacheAside[Any, Any] = CacheAside(
                    cache, loader=source, key=key, type=tp, tags=tags, **life
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
                        report = await warm_in_phases(
                            aside,
                            wanted,
                            concurrency=concurrency,
                            batch_size=batch_size,
                            skip_cached=not reload,
                            progress=lambda done: bar.update(task, completed=done),
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
