"""``cachewright dead-letters``: see and resolve writes the store kept rejecting.

Usage::

    cachewright --url redis://127.0.0.1:6379/0 --namespace shop dead-letters list --key 'profile:{}'
    cachewright ... dead-letters replay --key 'profile:{}' --all     # after fixing the cause
    cachewright ... dead-letters replay --queue profiles 3/1700000000000-0
    cachewright ... dead-letters drop --queue profiles 3/1700000000000-0

Dead letters live in the durable Redis queue (``RedisWriteQueue``), named by the
namespace and the queue's name: ``--queue`` if the application named it, else the
name its ``WriteBehind`` derives from ``--key`` (as it does). A queue no process has
used is an error (exit code 4), and so is an id that is not a dead letter id (2).

A replayed write goes back into the queue and the next flush writes it; one whose key
was written again since is *superseded* and removed instead, since replaying it would
overwrite newer data. Dropping is an explicit decision to give a write up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cachewright._cli.exits import ExitCode
from cachewright._cli.queues import QueueKeyOpt, QueueOpt, queue_name, require
from cachewright._cli.render import console, emit_json, plural
from cachewright._cli.runtime import Options, fail, run

if TYPE_CHECKING:
    from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
    from cachewright.settings import Settings

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
IdsArg = Annotated[list[str] | None, typer.Argument(metavar="ID...", help="Dead letter ids.")]


def _json_or_text(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def _queue(settings: Settings, name: str) -> RedisWriteQueue:
    if settings.url.startswith("memory://"):
        fail(
            "dead letters are kept by the durable queue in Redis; with the memory queue they"
            " live inside the application's process (WriteBehind.dead_letters()).\n"
            "  Give the Redis URL with --url or CACHEWRIGHT_URL.",
            ExitCode.USAGE,
        )
    from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue

    return RedisWriteQueue.from_url(settings.url, settings=settings, name=name)


def _check_ids(ids: list[str]) -> None:
    """Exit with a usage error on an id that cannot be a dead letter's."""
    from cachewright.patterns.write_behind.queues.redis import is_dead_letter_id

    malformed = [i for i in ids if not is_dead_letter_id(i)]
    if malformed:
        fail(
            f"malformed dead letter id: {', '.join(map(repr, malformed))} (an id looks like "
            "'3/1700000000000-0': partition/entry, as `dead-letters list` prints it)",
            ExitCode.USAGE,
        )


def register(app: typer.Typer, options: Callable[[typer.Context], Options]) -> None:
    """Add the ``dead-letters`` group to ``app``."""
    group = typer.Typer(
        help="List, replay or drop writes the store kept rejecting (Redis queue).",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.add_typer(group, name="dead-letters")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        queue: QueueOpt = None,
        key: QueueKeyOpt = "{}",
        limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
        as_json: JsonOpt = False,
    ) -> None:
        """Show dead letters, oldest first, with the error that sent each there."""

        name = queue_name(queue, key)

        async def body(settings: Settings) -> ExitCode:
            async with _queue(settings, name) as q:
                await require(q)
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
                out.print(f"no dead letters in queue {name!r}", markup=False)
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
        queue: QueueOpt = None,
        key: QueueKeyOpt = "{}",
        everything: Annotated[
            bool, typer.Option("--all", help="Replay every dead letter.")
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Put dead letters back in the queue; superseded ones are removed instead."""
        if bool(ids) == everything:
            fail("give dead letter IDs or --all (not both)", ExitCode.USAGE)
        _check_ids(ids or [])
        name = queue_name(queue, key)

        async def body(settings: Settings) -> ExitCode:
            requeued: list[str] = []
            superseded: list[str] = []
            missing: list[str] = []
            async with _queue(settings, name) as q:
                await require(q)
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
        queue: QueueOpt = None,
        key: QueueKeyOpt = "{}",
        as_json: JsonOpt = False,
    ) -> None:
        """Delete dead letters for good: the writes they hold are given up."""
        _check_ids(ids)
        name = queue_name(queue, key)

        async def body(settings: Settings) -> ExitCode:
            async with _queue(settings, name) as q:
                await require(q)
                removed = await q.drop(ids)
            if as_json:
                emit_json({"removed": removed})
            else:
                console().print(f"dropped {plural(removed, 'dead letter')}", markup=False)
            return ExitCode.OK if removed == len(set(ids)) else ExitCode.FAILURE

        run(options(ctx), body)
