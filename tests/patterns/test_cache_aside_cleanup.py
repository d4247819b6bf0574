"""No task left behind (issue 14.9): a CacheAside that is never closed, with background
refreshes in flight, leaves no "Task was destroyed but it is pending!" at exit, whether
the loop ends through ``asyncio.run`` or is closed by hand; its refreshes are cancelled
and a ResourceWarning says so, once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.patterns._write_support import cache_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest) -> str:
    return cache_url(request.param, request)


@pytest.mark.parametrize("mode", ["run", "loop"])
def test_an_unclosed_aside_leaves_no_pending_task_at_exit(url: str, mode: str) -> None:
    script = "tests.patterns._unclosed_aside"
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-m", script, url, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["refreshing", "4"], done.stdout  # max_concurrency refreshes
    assert "Task was destroyed" not in done.stderr, done.stderr
    assert "Event loop is closed" not in done.stderr, done.stderr
    assert done.stderr.count("was never closed: 4 background refresh(es) cancelled") == 1, (
        done.stderr
    )
