"""The soak: a mixed workload from several processes while faults are injected at random.

Two writer processes run write-behind (Redis queue), write-through and cache-aside
through a :class:`FaultProxy` in front of a private Redis (AOF, ``appendfsync always``,
an ACL user with a password); two flush workers drain the queue into a private
PostgreSQL. Meanwhile the injector, at random, SIGKILLs and restarts Redis, black-holes
the proxy for a moment, stops and restarts PostgreSQL, and SIGKILLs a worker (a new one
replaces it). Then everything comes back, the queue drains, and the test checks:

- every acknowledged write-behind and write-through write is in PostgreSQL, each key at
  its latest acknowledged value or a later attempted one (values of a key only grow);
- no write-through cache entry is older than the store (after the entries' ttl, which
  bounds an entry whose invalidation could not reach Redis: see ``docs/reliability.md``);
- the dead-letter set holds exactly the poison writes (the store rejects them);
- no task leaked in this process; the password never appears in any log line.

``CACHEWRIGHT_SOAK_SECONDS`` (default 30) sets the faulty phase's length;
``CACHEWRIGHT_SOAK_SEED`` replays a fault schedule.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from cachewright import Cache
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue
from cachewright.stores import SQLStore
from tests._servers import RedisServer, need, redis_binary, wait_until_async
from tests.faults._pg import PrivatePostgres
from tests.faults._proxy import FaultProxy
from tests.faults._soak_proc import KEYS, POISON_BASE, WT_TTL

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("CACHEWRIGHT_SOAK_SECONDS", "30"))
SEED = int(os.environ.get("CACHEWRIGHT_SOAK_SEED", str(int(time.time()))))
SECRET = "soak-S3cret-7q"
WRITERS, WORKERS, TASKS = 2, 2, 4


@pytest.fixture
def soak_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if redis_binary() is None:
        need("redis-server binary not found")
    acl = tmp_path / "users.acl"
    acl.write_text(f"user default on nopass ~* &* +@all\nuser soak on >{SECRET} ~* &* +@all\n")
    server = RedisServer(appendonly=True, extra_args=["--aclfile", str(acl)])
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@dataclass
class Fleet:
    """The soak's processes; any still running at the end is SIGKILLed."""

    logs: Path
    env: dict[str, str]
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def start(self, role: str, **extra: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"{role}-{len(self.procs)}.log"
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.faults._soak_proc", role],
                cwd=ROOT,
                env={**os.environ, **self.env, **extra},
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        self.procs.append((role, proc, log))
        return proc

    def alive(self, role: str) -> list[subprocess.Popen[bytes]]:
        return [p for r, p, _ in self.procs if r == role and p.poll() is None]

    async def finish(self, proc: subprocess.Popen[bytes], within: float) -> dict[str, Any]:
        async def done() -> bool:
            return proc.poll() is not None

        await wait_until_async(done, timeout=within, interval=0.1)
        out, _ = await asyncio.to_thread(proc.communicate, None, 30)
        assert proc.returncode == 0, f"exited {proc.returncode}: {self.log_of(proc)}"
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return result

    def log_of(self, proc: subprocess.Popen[bytes]) -> str:
        for _, known, log in self.procs:
            if known is proc:
                return log.read_text(errors="replace")[-3000:]
        return ""

    def kill_all(self) -> None:
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)


class Injector:
    """Random faults until ``until``; counts them and remembers when each ended."""

    def __init__(
        self, redis: RedisServer, proxy: FaultProxy, pg: PrivatePostgres, fleet: Fleet
    ) -> None:
        self.redis, self.proxy, self.pg, self.fleet = redis, proxy, pg, fleet
        self.rng = random.Random(SEED)
        self.counts: Counter[str] = Counter()
        self.ended: list[tuple[str, float]] = []
        self.timeline: list[str] = []

    async def run(self, until: float, writers: list[subprocess.Popen[bytes]]) -> None:
        kinds = ["redis_kill", "black_hole", "pg_stop", "worker_kill"]
        schedule: list[str] = []
        while time.monotonic() < until:
            if any(proc.poll() is not None for proc in writers):
                return  # a writer died early: stop now, the checks will say why
            if not schedule:
                schedule = self.rng.sample(kinds, len(kinds))  # each kind in every round
            await asyncio.sleep(self.rng.uniform(1.0, 2.5))  # the fault schedule's pace
            if time.monotonic() >= until:
                break
            kind = schedule.pop()
            began = time.time()
            await getattr(self, kind)()
            self.counts[kind] += 1
            self.ended.append((kind, time.time()))
            self.timeline.append(f"{kind} {began:.3f} {time.time():.3f}")

    async def redis_kill(self) -> None:
        await asyncio.to_thread(self.redis.kill)
        await asyncio.sleep(self.rng.uniform(0.3, 1.5))
        await asyncio.to_thread(self.redis.start)

    async def black_hole(self) -> None:
        self.proxy.black_hole()
        await asyncio.sleep(self.rng.uniform(0.5, 2.0))
        self.proxy.pass_through()
        self.proxy.drop()  # what was in flight is gone, as after a partition

    async def pg_stop(self) -> None:
        await asyncio.to_thread(self.pg.stop, self.rng.choice(["fast", "immediate"]))
        await asyncio.sleep(self.rng.uniform(0.5, 2.5))
        await asyncio.to_thread(self.pg.start)

    async def worker_kill(self) -> None:
        workers = self.fleet.alive("worker")
        if workers:
            victim = self.rng.choice(workers)
            victim.send_signal(signal.SIGKILL)
            await asyncio.to_thread(victim.wait, 30)
        self.fleet.start("worker")


def read_log(path: Path) -> tuple[dict[str, dict[int, int]], set[int], set[int], list[float]]:
    """Last acknowledged value per key and kind; acked and attempted poison keys; ack times."""
    acked: dict[str, dict[int, int]] = {"wb": {}, "wt": {}}
    poison: set[int] = set()
    tried: set[int] = set()
    times: list[float] = []
    for line in path.read_text().splitlines():
        kind, key_text, value_text, at = line.split()
        key, value = int(key_text), int(value_text)
        if kind in acked:
            acked[kind][key] = max(acked[kind].get(key, -1), value)
            times.append(float(at))
        elif kind == "poison":
            poison.add(key)
        elif kind == "try-poison":
            tried.add(key)
    return acked, poison, tried, times


def dead_key(text: str) -> int:
    return int(json.loads(text)) if text.startswith('"') else int(text)


def check_rows(
    rows: dict[int, int], acked: dict[int, int], attempted_max: dict[int, int]
) -> list[str]:
    """Lost or wrong rows: an acked key missing, older than its ack, or holding a value
    that was never written to it."""
    problems = []
    for key, value in acked.items():
        row = rows.get(key)
        if row is None or row < value:
            problems.append(f"key {key}: acked {value}, store {row}")
    for key, row in rows.items():
        offset = key % 1_000
        if (row - offset) % KEYS != 0 or row > attempted_max.get(key // 1_000, row):
            problems.append(f"key {key}: store holds {row}, never written to it")
    return problems


async def test_soak(
    soak_redis: RedisServer,
    private_pg: PrivatePostgres,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    baseline = {id(t) for t in asyncio.all_tasks()}
    if not private_pg.running():
        await asyncio.to_thread(private_pg.start)
    namespace = f"soak{uuid.uuid4().hex[:8]}"
    wb_table, wt_table = f"soak_wb_{namespace}", f"soak_wt_{namespace}"
    direct = f"redis://soak:{SECRET}@127.0.0.1:{soak_redis.port}/0"
    for table in (wb_table, wt_table):
        async with SQLStore(private_pg.url, table, type=int, key_type=int) as creating:
            await creating.create_table()  # before the processes: CREATEs race otherwise

    kept = os.environ.get("CACHEWRIGHT_SOAK_LOGS")  # keep the processes' logs there
    if kept:
        tmp_path = Path(kept)
        tmp_path.mkdir(parents=True, exist_ok=True)
    log = tmp_path / "acks.log"
    stop_file = tmp_path / "stop"
    proxy = await FaultProxy("127.0.0.1", soak_redis.port).start()
    fleet = Fleet(
        tmp_path,
        {
            "CW_URL": f"redis://soak:{SECRET}@127.0.0.1:{proxy.port}/0",
            "CW_NAMESPACE": namespace,
            "CW_PG_URL": private_pg.url,
            "CW_WB_TABLE": wb_table,
            "CW_WT_TABLE": wt_table,
            "CW_LOG": str(log),
            "CW_LOG_LEVEL": "DEBUG",
            "CW_SECONDS": str(SECONDS + 120),  # a safety cap: the stop file ends them
            "CW_STOP": str(stop_file),
            "CW_TASKS": str(TASKS),
        },
    )
    injector = Injector(soak_redis, proxy, private_pg, fleet)
    print(f"\nsoak: {SECONDS:.0f} s of faults, seed {SEED}")
    try:
        for _ in range(WORKERS):
            fleet.start("worker")
        writers = [fleet.start("writer", CW_WRITER=str(w)) for w in range(WRITERS)]
        started = time.monotonic()
        await injector.run(started + SECONDS, writers)

        # Everything back: servers up, proxy passing; writers finish their last ops.
        injector.proxy.pass_through()
        if soak_redis.process is None:
            await asyncio.to_thread(soak_redis.start)
        if not private_pg.running():
            await asyncio.to_thread(private_pg.start)
        restored = time.time()

        # The writers go on until 50 more writes were acknowledged after the last fault.
        async def writers_recovered() -> bool:
            _, _, _, times = read_log(log)
            return sum(1 for t in times if t > restored) >= 50

        await wait_until_async(writers_recovered, timeout=60, interval=0.2)
        stop_file.touch()
        writer_counts: Counter[str] = Counter()
        for proc in writers:
            writer_counts.update(await fleet.finish(proc, within=60))
        recovered_at = time.time()

        # The workers drain the queue, then stop gracefully.
        queue = RedisWriteQueue.from_url(direct, namespace=namespace, name="soak", partitions=4)
        try:

            async def drained() -> bool:
                stats = await queue.stats()
                return stats.pending == 0

            await wait_until_async(drained, timeout=90, interval=0.2)
            dead = await queue.dead_letters(limit=100_000)
            # Diagnostics for the report, should a poison write be missing.
            _, acked_poison, _, _ = read_log(log)
            missing = sorted(acked_poison - {dead_key(d.key) for d in dead})[:5]
            peeks = {k: await queue.peek(str(k)) for k in missing}
            queue_stats = await queue.stats()
        finally:
            await queue.close()
        worker_stats: list[dict[str, Any]] = []
        for proc in fleet.alive("worker"):
            proc.send_signal(signal.SIGTERM)
            worker_stats.append(await fleet.finish(proc, within=60))
    finally:
        await proxy.close()
        await asyncio.to_thread(fleet.kill_all)

    (tmp_path / "faults.log").write_text("\n".join(injector.timeline) + "\n")
    acked, poison, tried, ack_times = read_log(log)
    attempted_max: dict[int, int] = {}  # per task block: the largest n it could have used
    for kind in ("wb", "wt"):
        for key, value in acked[kind].items():
            block = key // 1_000
            attempted_max[block] = max(attempted_max.get(block, 0), value)
    # A task's last attempts may be unacknowledged (failed or cut off): allow one round.
    attempted_max = {block: value + 10 * KEYS for block, value in attempted_max.items()}

    async with (
        SQLStore(private_pg.url, wb_table, type=int, key_type=int) as wb_store,
        SQLStore(private_pg.url, wt_table, type=int, key_type=int) as wt_store,
        Cache.from_url(direct, namespace=namespace) as cache,
    ):
        wb_rows = dict(await wb_store.get_many(sorted(acked["wb"]) + sorted(tried)))
        wt_keys = sorted(acked["wt"])
        wt_rows = dict(await wt_store.get_many(wt_keys))

        async def stale_entries() -> int:
            cached = await cache.get_many([f"wt:{k}" for k in wt_keys], int)
            return sum(
                1 for k in wt_keys if f"wt:{k}" in cached and cached[f"wt:{k}"] != wt_rows.get(k)
            )

        stale_at_end = await stale_entries()
        # An entry whose invalidation could not reach Redis lives at most WT_TTL.
        await wait_until_async(stale_entries, expect=0, timeout=WT_TTL + 5, interval=0.25)

    problems = check_rows(
        {k: v for k, v in wb_rows.items() if k < POISON_BASE}, acked["wb"], attempted_max
    ) + check_rows(wt_rows, acked["wt"], attempted_max)
    dead_keys = {dead_key(d.key) for d in dead}
    recovered = sum(1 for _, ended in injector.ended if any(t > ended for t in ack_times))
    writes = sum(len(v) for v in acked.values())
    acks = sum(writer_counts[k] for k in ("wb", "wt")) + len(poison)
    retries = sum(s["retries"] + s["released"] for s in worker_stats)
    errors = {k: v for k, v in writer_counts.items() if k.startswith("error:")}
    print(
        f"soak counts: writes {acks} acknowledged ({writes} keys, {len(poison)} poison),"
        f" aside reads {writer_counts['aside']}, faults {sum(injector.counts.values())}"
        f" {dict(injector.counts)}, writer errors {sum(errors.values())} {errors},"
        f" worker retries+releases {retries} (surviving workers only),"
        f" reclaimed {sum(s['reclaimed'] for s in worker_stats)},"
        f" recovered {recovered}/{len(injector.ended)}, dead letters {len(dead_keys)},"
        f" stale write-through entries at the end {stale_at_end} (0 after {WT_TTL:.0f} s),"
        f" lost {len(problems)}, proxy black-holed chunks {proxy.swallowed_chunks},"
        f" queue drained {time.time() - recovered_at:.1f} s after the writers stopped"
    )
    assert not problems, problems[:10]
    assert poison <= dead_keys <= tried, (poison - dead_keys, dead_keys - tried, peeks, queue_stats)
    assert not any(wb_rows.get(k) for k in tried), "a poison value reached the store"
    assert set(injector.counts) == {"redis_kill", "black_hole", "pg_stop", "worker_kill"} or (
        SECONDS < 20
    )
    assert recovered == len(injector.ended)

    # No secret in any log line, here or in the processes.
    for record in caplog.records:
        assert SECRET not in record.getMessage()
    for _, _, path in fleet.procs:
        assert SECRET not in path.read_text(errors="replace"), f"secret in {path.name}"
    # No task leaked in this process (the proxy's and the checks' are all gone).
    leaked = [t for t in asyncio.all_tasks() if id(t) not in baseline and not t.done()]
    leaked = [t for t in leaked if t is not asyncio.current_task()]
    assert not leaked, leaked
    # No connection leaked: with every process gone and every client here closed,
    # Redis holds only the checking connection and PostgreSQL none of ours. Killed
    # processes' sockets take a moment to be noticed: poll with a deadline.
    await wait_until_async(lambda: _redis_clients(direct), expect=1, timeout=15, interval=0.2)
    await wait_until_async(lambda: _pg_sessions(private_pg.url), expect=0, timeout=15)


async def _redis_clients(url: str) -> int:
    client = Redis.from_url(url)
    try:
        return len(await client.client_list())  # this connection included
    finally:
        await client.aclose()


async def _pg_sessions(url: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname IS NOT NULL AND pid <> pg_backend_pid()"
        )
        return int(count)
    finally:
        await conn.close()
