"""Interpreter exit: nothing hangs, nothing is printed, pending writes are flushed.

A script builds a sync cache, a write-behind over a synchronous repository and a
cache-aside, accepts 100 writes and exits without closing anything.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sync import _exit_script

SCRIPT = Path(_exit_script.__file__)


def _run(url: str, namespace: str, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), url, namespace, str(db), *extra],
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails the test here
        check=False,
    )


def _rows(db: Path) -> dict[int, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT k, v FROM counts").fetchall())


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_exit_flushes_what_was_left_open_and_stops_cleanly(
    backend: str, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = "memory://" if backend == "memory" else request.getfixturevalue("redis_url")
    db = tmp_path / "counts.sqlite3"

    done = _run(url, namespace, db)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "accepted 100 writes" in done.stdout
    assert _rows(db) == {n: n * n for n in range(100)}


def test_without_exit_hooks_the_writes_stay_pending(namespace: str, tmp_path: Path) -> None:
    """The control case: it is the exit hook that flushed above, not the flusher."""
    db = tmp_path / "counts.sqlite3"

    done = _run("memory://", namespace, db, "--no-exit-hooks")

    assert done.returncode == 0, done.stderr
    assert _rows(db) == {}


@pytest.mark.redis
def test_exit_with_a_local_tier_listening(redis_url: str, namespace: str) -> None:
    """A two-level cache keeps the engine busy (its invalidation listener) until exit."""
    code = (
        "import sys\n"
        "from cachewright import LocalTier, Settings\n"
        "from cachewright.sync import Cache\n"
        "cache = Cache.from_url(sys.argv[1], settings=Settings(namespace=sys.argv[2]),\n"
        "                       local=LocalTier())\n"
        "cache.set('a', 1)\n"
        "print(cache.get('a'), cache.get('a'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, redis_url, namespace],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, "1 1\n", "")
