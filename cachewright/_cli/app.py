"""The ``cachewright`` typer app: global flags and the commands on keys and tags.

Usage::

    cachewright --url redis://127.0.0.1:6379/0 --namespace shop stats --json
    cachewright get user:1
    cachewright delete user:1 user:2
    cachewright delete-pattern 'temp:*' --raw
    cachewright invalidate users products

The longer commands (``demo``, ``warmup``, ``worker``, ``dead-letters``) live in
their own modules and are registered here.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from cachewright._cli import dead_letters, demo, health, warmup, worker
from cachewright._cli.exits import ExitCode
from cachewright._cli.render import console, emit_json, fmt, plural, queue_table, stats_table
from cachewright._cli.runtime import Options, fail, open_cache, run

if TYPE_CHECKING:
    # Loaded by the commands that use them: ``cachewright --help`` stays light (no
    # pydantic, no Redis client), so it answers at once.
    from cachewright.cache import Cache
    from cachewright.patterns.write_behind.queues import QueueStats
    from cachewright.settings import Settings

__all__ = ["app"]

app = typer.Typer(
    name="cachewright",
    help="Inspect and operate a cachewright cache; run the demo, warm-ups and flush workers.\n\n"
    "Configured by CACHEWRIGHT_* variables (or .env); the flags below override them.",
    no_args_is_help=True,
    add_completion=False,
    # Errors are turned into messages and exit codes by runtime.run; a traceback
    # appears only with --debug.
    pretty_exceptions_enable=False,
    # Plain click help: flags show as flags (typer's rich panels print ``--json <bool>``),
    # and printing it needs no rich.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _show_version(value: bool) -> None:
    if value:
        from cachewright import __version__

        console().print(f"cachewright {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="Cache URL (memory://, redis://, rediss://, redis+cluster://, ...). "
            "Default: CACHEWRIGHT_URL, else memory://.",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            metavar="NAME",
            help="Key namespace. Default: CACHEWRIGHT_NAMESPACE, else cw.",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Log at DEBUG level and show tracebacks.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = Options(url=url, namespace=namespace, debug=debug)


def options(ctx: typer.Context) -> Options:
    """The global flags of this invocation."""
    found = ctx.find_object(Options)
    return found if found is not None else Options()


@app.command()
def stats(
    ctx: typer.Context,
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queue",
            metavar="NAME",
            help="Also show the write-behind queue of this name (Redis; repeatable).",
        ),
    ] = None,
    key_formats: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            metavar="FORMAT",
            help="Also show the queue of the WriteBehind with this key format, named "
            "as WriteBehind names it ('profile:{}' -> 'profile'; repeatable).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the server's facts (memory, keys, hit ratio) and, with --queue or --key,
    a write-behind queue's pending writes, their age and the dead letters. A queue no
    process has used is an error (exit code 4)."""

    async def body(settings: Settings) -> ExitCode:
        from cachewright._cli.queues import queue_name

        names = [*(queues or []), *(queue_name(None, k) for k in key_formats or [])]
        async with open_cache(settings) as cache:
            snapshot = await cache.stats()
            queue_stats = await _queue_stats(cache, list(dict.fromkeys(names)))
        if as_json:
            emit_json(
                {
                    **snapshot.as_dict(),
                    "queues": {name: asdict(q) for name, q in queue_stats.items()},
                }
            )
            return ExitCode.OK
        out = console()
        title = f"database stats · all namespaces, not only {cache.namespace!r}"
        out.print(stats_table(snapshot, title=title, process=False))
        for name, q in queue_stats.items():
            out.print(queue_table(name, q))
        return ExitCode.OK

    run(options(ctx), body)


async def _queue_stats(cache: Cache, names: list[str]) -> dict[str, QueueStats]:
    if not names:
        return {}
    from cachewright._cli.queues import require
    from cachewright.cache.backends.redis import RedisBackend
    from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue

    if not isinstance(cache.backend, RedisBackend):
        fail("--queue needs the durable queue in Redis: give the Redis URL", ExitCode.USAGE)
    found: dict[str, QueueStats] = {}
    for name in names:
        async with RedisWriteQueue.for_cache(cache, name=name) as queue:
            await require(queue)
            found[name] = await queue.stats()
    return found


@app.command()
def get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="The key, without the namespace.")],
    as_json: JsonFlag = False,
) -> None:
    """Print the entry at KEY with its tags and expiry. Exit code 4 on a miss."""

    async def body(settings: Settings) -> ExitCode:
        async with open_cache(settings) as cache:
            entry = await cache.get_entry(key)
            ttl = await cache.ttl(key) if entry is not None else None
        if entry is None:
            if as_json:
                emit_json({"key": key, "hit": False})
            else:
                console().print(f"miss: no entry at {key!r}", markup=False)
            return ExitCode.NOT_FOUND
        data = {
            "key": key,
            "hit": True,
            "value": entry.value,
            "tags": list(entry.tags),
            "stale": entry.stale,
            "ttl": None if ttl is None or ttl == float("inf") else ttl,
            "expires_at": entry.expires_at,
            "written_at": entry.written_at,
        }
        if as_json:
            emit_json(data)
        else:
            out = console()
            shown = {
                "key": key,
                "tags": ", ".join(entry.tags) or "-",
                "stale": fmt(entry.stale),
                "ttl": "no expiry" if data["ttl"] is None else f"{data['ttl']:.1f} s",
                "expires_at": fmt(entry.expires_at),
                "written_at": fmt(entry.written_at),
            }
            for name, text in shown.items():
                out.print(f"{name:>10}: {text}", markup=False)
            out.print("     value:", markup=False)
            emit_json(entry.value)
        return ExitCode.OK

    run(options(ctx), body)


@app.command()
def delete(
    ctx: typer.Context,
    keys: Annotated[
        list[str], typer.Argument(metavar="KEY...", help="Keys to remove, without the namespace.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Remove entries by key."""

    async def body(settings: Settings) -> ExitCode:
        async with open_cache(settings) as cache:
            removed = await cache.delete_many(keys)
        _report(as_json, removed, f"deleted {removed} of {plural(len(set(keys)), 'key')}")
        return ExitCode.OK

    run(options(ctx), body)


@app.command("delete-pattern")
def delete_pattern(
    ctx: typer.Context,
    pattern: Annotated[str, typer.Argument(metavar="GLOB", help="Redis glob, as written.")],
    prefix: Annotated[
        bool,
        typer.Option("--prefix", help="GLOB is a literal key prefix: *, ? and [ match themselves."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove the namespace's entries whose key matches GLOB (SCAN + UNLINK, never KEYS).

    GLOB is a Redis glob (*, ?, [abc], backslash escapes), as Cache.delete_pattern takes
    it; with --prefix it is a literal prefix instead, as Cache.delete_prefix takes it.
    """

    async def body(settings: Settings) -> ExitCode:
        async with open_cache(settings) as cache:
            if prefix:
                removed = await cache.delete_prefix(pattern)
            else:
                removed = await cache.delete_pattern(pattern)
        what = "starting with" if prefix else "matching"
        _report(as_json, removed, f"deleted {plural(removed, 'key')} {what} {pattern!r}")
        return ExitCode.OK

    run(options(ctx), body)


@app.command()
def invalidate(
    ctx: typer.Context,
    tags: Annotated[list[str], typer.Argument(metavar="TAG...", help="Tags to invalidate.")],
    as_json: JsonFlag = False,
) -> None:
    """Remove every entry carrying any of the tags (cost: the tagged entries only)."""

    async def body(settings: Settings) -> ExitCode:
        async with open_cache(settings) as cache:
            removed = await cache.invalidate_tags(tags)
        _report(as_json, removed, f"removed {plural(removed, 'entry')} tagged {', '.join(tags)}")
        return ExitCode.OK

    run(options(ctx), body)


def _report(as_json: bool, removed: int, text: str) -> None:
    if as_json:
        emit_json({"removed": removed})
    else:
        console().print(text, markup=False)


demo.register(app, options)
health.register(app, options)
warmup.register(app, options)
worker.register(app, options)
dead_letters.register(app, options)
