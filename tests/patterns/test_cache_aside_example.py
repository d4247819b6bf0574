"""``examples/cache_aside_repository.py`` runs as a user would run it and says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "cache_aside_repository.py"

EXPECTED = [
    "[ 1 queries] get(1) again: a hit, no query",
    "[ 2 queries] 500 concurrent get(2) on a cold key: one query",
    "[ 3 queries] get_many(1..20) -> 20 users: one query for the 18 misses",
    "during a reload that read 'user 3': the cache kept no old row, get(3) -> 'Ada'",
    "count_by_domain('corp.io') -> 50 twice: one query",
    "warm-up of 120 ids: loaded 80, skipped 20 cached, missing 20, failed 0",
    "1 refused (a newer write won)",
    "done: every read after the first came from the cache",
]


def run(tmp_path: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CACHEWRIGHT_")}
    clean["USERS_DB"] = f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**clean, **env},
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    for line in EXPECTED:
        assert line in proc.stdout, proc.stdout
    return proc.stdout


def test_the_example_runs_on_the_memory_cache(tmp_path: Path) -> None:
    assert "Cache('memory://'" in run(tmp_path)


@pytest.mark.redis
def test_the_example_runs_on_redis(tmp_path: Path, redis_url: str, namespace: str) -> None:
    output = run(tmp_path, CACHEWRIGHT_URL=redis_url, CACHEWRIGHT_NAMESPACE=namespace)
    assert "Cache('redis://127.0.0.1:" in output
