"""The steps of ``cachewright demo``: the three patterns at work, with timings.

Usage::

    code = await run_demo(Settings())                       # memory:// + SQLite
    code = await run_demo(Settings(url="redis://127.0.0.1:6379/0"))

Each step prints what it did and how long it took, and checks what it claims (one
loader call for the stampede, the store and the cache agreeing, ...): the demo exits
with status 1 if any claim failed, so it doubles as a smoke test of an installation.
On Redis it works in a namespace of its own and removes its keys at the end.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from cachewright._cli.demo_world import LATENCY, DemoWorld, Order, Product, Profile
from cachewright._cli.exits import ExitCode
from cachewright._cli.render import console, plural, stats_table
from cachewright._cli.runtime import open_cache
from cachewright._redact import redact_url
from cachewright.cache import Cache
from cachewright.cache.backends.redis import RedisBackend
from cachewright.patterns.aside.cache_aside import CacheAside
from cachewright.patterns.write_behind import WriteBehind
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.patterns.write_through import WriteThrough
from cachewright.settings import Settings

if TYPE_CHECKING:
    from cachewright.patterns.write_behind.queues.redis import Partition

__all__ = ["run_demo"]

STAMPEDE = 100
PROFILES = 3
WRITES_PER_PROFILE = 100


class Step:
    """Prints a step's lines and records whether its claims held."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.failures: list[str] = []

    def title(self, number: int, text: str) -> None:
        self.out.print(f"\n[bold]{number} · {text}[/]", soft_wrap=True)

    def line(self, text: str) -> None:
        # soft_wrap: a line is one line, in a pipe or a narrow terminal alike
        self.out.print(f"  {text}", markup=False, highlight=False, soft_wrap=True)

    def check(self, ok: bool, claim: str) -> None:
        if not ok:
            self.failures.append(claim)
            self.out.print(f"  [red]✗ expected: {claim}[/]")


def _ms(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1000:.1f} ms"


async def run_demo(settings: Settings, *, own_namespace: bool = True) -> ExitCode:
    """Run every step against the configured cache.

    ``own_namespace``: on Redis, work in a fresh ``demo-<random>`` namespace (the
    default) rather than the configured one.
    """
    on_redis = not settings.url.startswith("memory://")
    if on_redis and own_namespace:
        # A namespace of our own: the demo never touches an application's keys.
        settings = settings.model_copy(update={"namespace": f"demo-{secrets.token_hex(4)}"})
    step = Step(console())
    with tempfile.TemporaryDirectory(prefix="cachewright-demo-") as tmp:
        async with (
            open_cache(settings, quiet_memory=True) as cache,
            DemoWorld.open(Path(tmp)) as world,
        ):
            try:
                step.out.print(
                    f"[bold]cachewright demo[/] · cache {redact_url(settings.url)} "
                    f"(namespace {cache.namespace}) · store {world.store_label}",
                    highlight=False,
                    soft_wrap=True,
                )
                step.out.print(
                    f"Each load from the store sleeps {LATENCY * 1000:.0f} ms first, "
                    "as a database across a network would.",
                    soft_wrap=True,
                )
                products = await _cache_aside(step, cache, world)
                await _stampede(step, products, world)
                await _write_through(step, cache, world)
                await _write_behind(step, cache, world)
                await _tags(step, cache, world, products)
                step.out.print()
                step.out.print(stats_table(await cache.stats(), title="6 · Stats of this cache"))
            finally:
                if on_redis:  # leave nothing behind on a shared server
                    await cache.invalidate_tags("catalog")
                    await cache.clear()
    if step.failures:
        step.out.print(f"\n[red]demo finished with {len(step.failures)} failed check(s)[/]")
        return ExitCode.FAILURE
    step.out.print("\n[green]demo complete[/]: every step did what it claims.")
    return ExitCode.OK


async def _cache_aside(step: Step, cache: Cache, world: DemoWorld) -> CacheAside[int, Product]:
    products: CacheAside[int, Product] = CacheAside(
        cache, loader=world.load_product, key="product:{}", type=Product, ttl=600, tags="catalog"
    )
    step.title(1, "Cache-aside: the first read loads from the store, the next ones hit")
    sources = []
    for _ in range(3):
        loads, start = world.loads, time.perf_counter()
        product = await products.get(1)
        source = "miss, loaded from the store" if world.loads > loads else "hit"
        sources.append(source)
        name = product.name if product else "?"
        step.line(f"get(1)  {source:<28} {_ms(start):>9}   {name}")
    step.check(sources[0] != "hit" and sources[1:] == ["hit", "hit"], "a miss, then two hits")
    return products


async def _stampede(step: Step, products: CacheAside[int, Product], world: DemoWorld) -> None:
    step.title(2, f"Stampede: {STAMPEDE} concurrent get(7) on a cold key")
    loads, start = world.loads, time.perf_counter()
    results = await asyncio.gather(*(products.get(7) for _ in range(STAMPEDE)))
    took = _ms(start)
    served = sum(1 for r in results if r is not None)
    calls = world.loads - loads
    step.line(f"{served} callers served by {plural(calls, 'loader call')} in {took}")
    step.check(served == STAMPEDE and calls == 1, f"{STAMPEDE} callers, 1 loader call")


async def _write_through(step: Step, cache: Cache, world: DemoWorld) -> None:
    orders = WriteThrough(cache, world.orders, key="order:{}", type=Order, ttl=600)
    order = Order(id=1001, product_id=7, quantity=2)
    step.title(3, "Write-through: orders.set(1001, ...) writes the store, then the cache")
    start = time.perf_counter()
    await orders.set(order.id, order)
    took = _ms(start)
    in_store = await world.orders.get(order.id) == order
    in_cache = await cache.get("order:1001", Order) == order
    step.line(f"written in {took}; store has it: {in_store}, cache has it: {in_cache}")
    step.check(in_store and in_cache, "the order in both the store and the cache")


async def _write_behind(step: Step, cache: Cache, world: DemoWorld) -> None:
    queue = _redis_queue(cache)
    # A long interval: the demo flushes by hand, to show the state before and after.
    profiles = WriteBehind(
        cache, world.profiles, key="profile:{}", type=Profile, flush_interval=60, queue=queue
    )
    ids = list(range(1, PROFILES + 1))
    writes = PROFILES * WRITES_PER_PROFILE
    kind = "the durable Redis queue" if queue is not None else "the in-process queue"
    step.title(4, f"Write-behind: {writes} updates to {PROFILES} profiles through {kind}")
    try:
        async with profiles:
            start = time.perf_counter()
            for visits in range(1, WRITES_PER_PROFILE + 1):
                for pid in ids:
                    await profiles.set(pid, Profile(id=pid, name=f"user {pid}", visits=visits))
            took = _ms(start)
            before = await profiles.stats()
            rows_before = len(await world.profiles.get_many(ids))
            step.line(
                f"{writes} writes accepted in {took}: "
                + ("cache entries dropped (strict)" if profiles.strict else "cache updated")
                + f", store rows {rows_before}"
            )
            step.line(f"queue: {before.pending} keys pending ({before.coalesced} writes coalesced)")
            start = time.perf_counter()
            report = await profiles.flush()
            took = _ms(start)
            after = await profiles.stats()
            stored = await world.profiles.get_many(ids)
            latest = all(p.visits == WRITES_PER_PROFILE for p in stored.values())
            step.line(
                f"flush(): {report.written} store writes in {took}; store rows {len(stored)}, "
                f"latest values: {latest}, pending {after.pending}"
            )
    finally:
        if queue is not None:
            await queue.close()
            # The demo's queue is its own: remove its keys from the shared server.
            await cache.backend.delete_many([k for p in queue.partitions for k in _keys_of(p)])
    step.check(
        rows_before == 0 and report.written == PROFILES and latest and after.pending == 0,
        f"nothing in the store before the flush, then {PROFILES} rows with the latest values",
    )


def _redis_queue(cache: Cache) -> RedisWriteQueue | None:
    """On Redis, the durable queue (what an application on Redis uses)."""
    if not isinstance(cache.backend, RedisBackend):
        return None
    return RedisWriteQueue.for_cache(cache, name="demo-profiles", partitions=2)


def _keys_of(part: Partition) -> tuple[str, ...]:
    return (
        part.ops,
        part.flight,
        part.stream,
        part.meta,
        part.dead,
        part.dead_latest,
        part.dead_count,
    )


async def _tags(
    step: Step, cache: Cache, world: DemoWorld, products: CacheAside[int, Product]
) -> None:
    step.title(5, "Tags: the cached products carry the tag 'catalog'")
    start = time.perf_counter()
    removed = await cache.invalidate_tags("catalog")
    step.line(f"invalidate_tags('catalog') removed {removed} entries in {_ms(start)}")
    loads, start = world.loads, time.perf_counter()
    await products.get(1)
    reloaded = world.loads > loads
    step.line(f"get(1)  {'miss, reloaded' if reloaded else 'hit':<28} {_ms(start):>9}")
    step.check(removed == 2 and reloaded, "2 entries removed, the next read a miss")
