"""What the crash tests share: spawning and killing the scripts, reading acks, checking
the store against them.

Usage::

    async with Processes(tmp_path) as procs:
        writer = procs.start("writer", setup.writer_env(total=50_000, acks=path))
        worker = procs.start("worker", setup.worker_env(crash_after_rows=3000))
        ...
        stats = await procs.stop(worker)      # SIGTERM, wait, the worker's JSON counters
        await progressing(writer_done, acks_written, what="the writer")
    check_store(rows, read_acks(path), keys=setup.keys)

Waits on phases whose length is the machine's throughput (a writer's 20,000 puts, a
queue draining) are ``progressing``: they fail when the work stops moving for ``stall``
seconds, not after a fixed time, so a busy machine makes them slower, never red,
while a real stall (a lost wake-up, a lease nobody ends) still fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests._servers import wait_until_async

__all__ = ["Processes", "Setup", "check_store", "progressing", "read_acks"]

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Setup:
    """One test's queue, store and write pattern, turned into the scripts' environment."""

    url: str
    namespace: str
    pg_url: str
    table: str
    name: str = "crash"
    partitions: int = 8
    keys: int = 2000
    batch: int = 500
    claim_idle: float = 1.0

    def _base(self) -> dict[str, str]:
        return {
            "CW_URL": self.url,
            "CW_NAMESPACE": self.namespace,
            "CW_NAME": self.name,
            "CW_PARTITIONS": str(self.partitions),
        }

    def writer_env(self, *, total: int, acks: Path, tasks: int = 16) -> dict[str, str]:
        assert self.keys % tasks == 0, "each key must belong to one writer task"
        return {
            **self._base(),
            "CW_TOTAL": str(total),
            "CW_KEYS": str(self.keys),
            "CW_TASKS": str(tasks),
            "CW_ACKS": str(acks),
        }

    def worker_env(
        self, *, crash_after_rows: int = 0, pause_after_rows: int = 0, gate: Path | None = None
    ) -> dict[str, str]:
        return {
            **self._base(),
            "CW_PG_URL": self.pg_url,
            "CW_TABLE": self.table,
            "CW_BATCH": str(self.batch),
            "CW_CLAIM_IDLE": str(self.claim_idle),
            "CW_CRASH_AFTER_ROWS": str(crash_after_rows),
            "CW_PAUSE_AFTER_ROWS": str(pause_after_rows),
            "CW_GATE": str(gate or ""),
        }


class Processes:
    """Script processes started by a test; any still running at exit is SIGKILLed."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc, _ in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)

    def start(self, script: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = self._logs / f"{script}-{len(self._procs)}.log"
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", f"tests.patterns._crash_scripts.{script}"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        self._procs.append((proc, log))
        return proc

    def log_of(self, proc: subprocess.Popen[bytes]) -> str:
        for known, log in self._procs:
            if known is proc:
                return log.read_text(errors="replace")[-4000:]
        return ""

    async def exited(
        self,
        proc: subprocess.Popen[bytes],
        within: float = 60.0,
        *,
        progress: Callable[[], Awaitable[object]] | None = None,
    ) -> int:
        """The exit code once ``proc`` exits: within ``within`` seconds, or, given
        ``progress``, as long as ``progress()`` keeps changing (see ``progressing``)."""

        async def done() -> bool:
            return proc.poll() is not None

        if progress is None:
            await wait_until_async(done, timeout=within, interval=0.05)
        else:
            await progressing(done, progress, what=f"process {proc.args!r}")
        return proc.wait()

    async def stop(self, proc: subprocess.Popen[bytes], within: float = 60.0) -> dict[str, Any]:
        """SIGTERM a worker, wait for its graceful exit, return its JSON counters."""
        proc.send_signal(signal.SIGTERM)
        code = await self.exited(proc, within)
        out, _ = proc.communicate(timeout=30)
        assert code == 0, f"worker exited with {code}: {self.log_of(proc)}"
        stats: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return stats


async def progressing(
    done: Callable[[], Awaitable[bool]],
    progress: Callable[[], Awaitable[object]],
    *,
    what: str,
    stall: float = 30.0,
    interval: float = 0.05,
) -> None:
    """Poll ``done()`` until true; fail when ``progress()`` (a count, a tuple) has not
    changed for ``stall`` seconds. No budget for the whole: only a standstill fails."""
    loop = asyncio.get_running_loop()
    last = await progress()
    moved = loop.time()
    while not await done():
        await asyncio.sleep(interval)
        now = await progress()
        if now != last:
            last, moved = now, loop.time()
        elif loop.time() - moved > stall:
            raise TimeoutError(f"{what}: no progress for {stall}s, stuck at {last!r}")


def read_acks(path: Path) -> dict[int, int]:
    """The last acknowledged value of each key (values of one key only grow)."""
    last: dict[int, int] = {}
    if not path.exists():
        return last
    for line in path.read_text().splitlines():
        key, value = line.split()
        last[int(key)] = max(last.get(int(key), -1), int(value))
    return last


def check_store(
    rows: Mapping[int, int], acks: Mapping[int, int], *, keys: int, killed_tasks: int = 0
) -> None:
    """Nothing acknowledged is lost, and each key holds its latest acknowledged value.

    A killed writer (``killed_tasks``: its number of tasks) may have had one put per
    task accepted but not yet acknowledged:
    the store may then hold that key's next value (``acked + keys``), never an older
    one, and a key never acknowledged at all may hold its first value (``key``).
    """
    assert set(rows) <= set(range(keys)), "rows for keys nobody wrote"
    lost = {k: v for k, v in acks.items() if k not in rows}
    assert not lost, f"{len(lost)} acknowledged keys missing from the store, e.g. {list(lost)[:5]}"
    if not killed_tasks:
        assert dict(rows) == dict(acks)
        return
    stale = {k: (rows[k], v) for k, v in acks.items() if rows[k] not in (v, v + keys)}
    assert not stale, f"{len(stale)} keys not at their latest acknowledged value: {stale}"
    ahead = sum(1 for k, v in acks.items() if rows[k] == v + keys)
    unacked = {k: rows[k] for k in rows if k not in acks}
    assert all(value == key for key, value in unacked.items()), unacked
    assert ahead + len(unacked) <= killed_tasks, "more puts in progress than writer tasks"
