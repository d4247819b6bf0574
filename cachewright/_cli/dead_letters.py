"""``cachewright dead-letters``: see and resolve writes the store kept rejecting.

Usage::

    cachewright --url redis://127.0.0.1:6379/0 --namespace shop dead-letters list --queue profiles
    cachewright ... dead-letters replay --queue profiles --all     # after fixing the cause
    cachewright ... dead-letters replay --queue profiles 3/1700000000000-0
    cachewright ... dead-letters drop --queue profiles 3/1700000000000-0

Dead letters live in the durable Redis queue (``RedisWriteQueue``), named by the
namespace and ``--queue`` (the ``name`` the application gave it). A replayed write
goes back into the queue and the next flush writes it; one whose key was written
again since is *superseded* and removed instead, since replaying it would overwrite
newer data. Dropping is an explicit decision to give a write up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from cachewright._cli.exits import ExitCode
from cachewright._cli.render import console, emit_json, plural
from cachewright._cli.runtime import Options, fail, run
from cachewright.settings import Settings

__all__ = ["register"]

QueueOpt = Annotated[
    str, typer.Option("--queue", help="The queue's name, as given to RedisWriteQueue.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
IdsArg = Annotated[list[str] | None, typer.Argument(metavar="ID...", help="Dead letter ids.")]


def _json_or_text(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def _queue(settings: Settings, name: str) -> Any:
    if settings.url.startswith("memory://"):
        fail(
            "dead letters are kept by the durable queue in Redis; with the memory queue they"
            " live inside the application's process (WriteBehind.dead_letters()).\n"
            "  Give the Redis URL with --url or CACHEWRIGHT_URL.",
            ExitCode.USAGE,
        )
    from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue

    return RedisWriteQueue.from_url(settings.url, settings=settings, name=name)


def register(app: typer.Typer, options: Callable[[typer.Context], Options]) -> None:
    """Add the ``dead-letters`` group to ``app``."""
    group = typer.Typer(
        help="List, replay or drop writes the store kept rejecting (Redis queue).",
        no_args_is_help=True,
    )
    app.add_typer(group, name="dead-letters")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        queue: QueueOpt = "default",
        limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
        as_json: JsonOpt = False,
    ) -> None:
        """Show dead letters, oldest first, with the error that sent each there."""

        async def body(settings: Settings) -> ExitCode:
            async with _queue(settings, queue) as q:
                letters = await q.dead_letters(limit)
            rows = [
                {
                    "id": d.id,
                    "key": _json_or_text(d.key.encode()),
                    "op": d.op,
                    "value": _json_or_text(d.value),
                    "error": d.error,
                    "failed_at": datetime.fromtimestamp(d.failed_at, tz=UTC),
                }
                for d in letters
            ]
            if as_json:
                emit_json(rows)
                return ExitCode.OK
            out = console()
            if not rows:
                out.print(f"no dead letters in queue {queue!r}", markup=False)
            for row in rows:
                out.print(
                    f"{row['id']}  {row['op']} {row['key']!r}  failed {row['failed_at']:%F %T}Z"
                    f"\n    error: {row['error']}\n    value: {json.dumps(row['value'])}",
                    markup=False,
                    soft_wrap=True,
                )
            return ExitCode.OK

        run(options(ctx), body)

    @group.command()
    def replay(
        ctx: typer.Context,
        ids: IdsArg = None,
        queue: QueueOpt = "default",
        everything: Annotated[
            bool, typer.Option("--all", help="Replay every dead letter.")
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Put dead letters back in the queue; superseded ones are removed instead."""
        if bool(ids) == everything:
            fail("give dead letter IDs or --all (not both)", ExitCode.USAGE)

        async def body(settings: Settings) -> ExitCode:
            requeued: list[str] = []
            superseded: list[str] = []
            missing: list[str] = []
            async with _queue(settings, queue) as q:
                if everything:
                    while batch := await q.dead_letters(1000):
                        result = await q.replay([d.id for d in batch])
                        requeued += result.requeued
                        superseded += result.superseded
                        missing += result.missing
                else:
                    result = await q.replay(ids or [])
                    requeued, superseded, missing = (
                        list(result.requeued),
                        list(result.superseded),
                        list(result.missing),
                    )
            if as_json:
                emit_json({"requeued": requeued, "superseded": superseded, "missing": missing})
            else:
                console().print(
                    f"requeued {len(requeued)}, superseded {len(superseded)} (a newer write "
                    f"exists), missing {len(missing)}",
                    markup=False,
                )
            return ExitCode.FAILURE if missing else ExitCode.OK

        run(options(ctx), body)

    @group.command()
    def drop(
        ctx: typer.Context,
        ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Dead letter ids.")],
        queue: QueueOpt = "default",
        as_json: JsonOpt = False,
    ) -> None:
        """Delete dead letters for good: the writes they hold are given up."""

        async def body(settings: Settings) -> ExitCode:
            async with _queue(settings, queue) as q:
                removed = await q.drop(ids)
            if as_json:
                emit_json({"removed": removed})
            else:
                console().print(f"dropped {plural(removed, 'dead letter')}", markup=False)
            return ExitCode.OK if removed == len(set(ids)) else ExitCode.FAILURE

        run(options(ctx), body)
