"""``cachewright worker``: a write-behind flush worker on the durable Redis queue.

Usage::

    cachewright --url redis://127.0.0.1:6379/0 --namespace shop worker \\
        --store myapp.stores:profile_store --type myapp.models:Profile \\
        --key 'profile:{}' --key-type int

It runs :func:`cachewright.patterns.worker.run_worker` until SIGTERM or Ctrl-C (the
batch in hand is finished first), logging progress, then prints what it did. Start
as many as you like: they share the queue through its consumer group. The queue is
the one the application's ``WriteBehind`` names after its key format (``--key``), or
``--queue NAME`` when the application named it. The cache's Redis is pinged first, so
a wrong URL fails at once (exit code 3) instead of retrying forever; once running, an
outage is waited out, not fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from cachewright._cli.exits import ExitCode
from cachewright._cli.params import KeyTypeOpt, StoreOpt, TypeOpt
from cachewright._cli.queues import QueueKeyOpt, QueueOpt, queue_name
from cachewright._cli.render import console
from cachewright._cli.runtime import Options, fail, open_cache, run

if TYPE_CHECKING:
    from cachewright.settings import Settings

__all__ = ["register"]


def register(app: typer.Typer, options: Callable[[typer.Context], Options]) -> None:
    """Add ``worker`` to ``app``."""

    @app.command()
    def worker(
        ctx: typer.Context,
        store: StoreOpt,
        value_type: TypeOpt = None,
        key_type: KeyTypeOpt = "json",
        key: QueueKeyOpt = "{}",
        queue: QueueOpt = None,
        partitions: Annotated[
            int, typer.Option("--partitions", min=1, help="As the application's queue.")
        ] = 8,
        batch_size: Annotated[
            int, typer.Option("--batch-size", min=1, help="Ops per store call.")
        ] = 500,
        claim_idle: Annotated[
            float,
            typer.Option(
                "--claim-idle", min=0.1, help="Seconds before a silent worker's batch is taken."
            ),
        ] = 30.0,
    ) -> None:
        """Flush the write-behind queue to the store until stopped (SIGTERM, Ctrl-C)."""
        opts = options(ctx)

        async def body(settings: Settings) -> ExitCode:
            from cachewright._cli.loading import import_object, import_type, make_store
            from cachewright._cli.worker_process import run_worker
            from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue

            if settings.url.startswith("memory://"):
                fail(
                    "a worker needs the durable queue in Redis (the memory queue is flushed "
                    "inside the application).\n  Give the Redis URL with --url or "
                    "CACHEWRIGHT_URL.",
                    ExitCode.USAGE,
                )
            name = queue_name(queue, key)
            tp = import_type(value_type)
            kt = import_type(key_type, "--key-type")
            import_object(store, "--store")  # a bad spec fails before anything runs
            async with open_cache(settings) as cache:  # fail fast on a wrong URL
                namespace = cache.namespace
                async with RedisWriteQueue.for_cache(cache, name=name) as probe:
                    known = await probe.exists()
            target = await make_store(store)  # an instance or a factory; closed by run_worker
            if not opts.debug:
                logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
            out = console()
            out.print(
                f"flush worker: queue {name!r} in namespace {namespace!r}; "
                "SIGTERM or Ctrl-C stops it after the batch in hand",
                markup=False,
                soft_wrap=True,
            )
            if not known:
                # Not an error: workers may start before the application's first write.
                out.print(
                    f"note: no process has used queue {name!r} yet; waiting for writes. "
                    "WriteBehind names its queue after its key format: check --key "
                    "(or --queue) and --namespace if none arrive",
                    markup=False,
                    soft_wrap=True,
                )
            stats = await run_worker(
                settings.url,
                target,
                type=tp,
                key_type=kt,
                namespace=namespace,
                name=name,
                partitions=partitions,
                batch_size=batch_size,
                claim_idle=claim_idle,
                settings=settings,
            )
            out.print(
                f"stopped after {stats.running_for:.1f} s: {stats.flushed} written in "
                f"{stats.batches} batches, {stats.dead_lettered} dead-lettered, "
                f"{stats.reclaimed} reclaimed, {stats.outages} outages",
                markup=False,
                soft_wrap=True,
            )
            return ExitCode.OK

        run(opts, body)
