"""The benchmark command runs end to end and writes a page whose figures it produced.

A smoke run: ``python -m benchmarks --quick`` on one workload, into a temporary
directory (never docs/). It checks the shape of what the run writes (the page, its
charts, the raw results with one sample per repeat) and that the page shows no
figure the run did not produce; it never asserts a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests._servers import need, redis_binary

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_run_writes_the_page_its_charts_and_every_repeat(tmp_path: Path) -> None:
    if redis_binary() is None:
        need("redis-server is not on PATH")
    page, raw = tmp_path / "benchmarks.md", tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "get",
         "--out", str(page), "--json", str(raw)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(raw.read_text())
    samples = data["workloads"]["get"]["modes"]["sequential"]
    assert {"cachewright", "redis-py", "cashews", "aiocache"} <= set(samples)
    assert all(len(repeats) == data["repeats"] >= 3 for repeats in samples.values())
    assert data["load"]["workloads"][0]
    assert data["machine"]["redis-server"]
    text = page.read_text()
    assert "## Targets (issue 16)" in text
    assert "## Machine and load" in text
    # the chart of each family the run measured sits above its table, and is valid SVG
    assert "![Reads: ratios with their spread](assets/benchmarks/reads.svg)" in text
    svg = ET.parse(tmp_path / "assets" / "benchmarks" / "reads.svg").getroot()
    assert svg.tag.endswith("svg")
    assert len(svg.findall("{http://www.w3.org/2000/svg}rect")) > 4
    # no figure from an earlier run: the appended notes carry prose only
    notes = (ROOT / "benchmarks" / "NOTES.md").read_text()
    assert not any(ch.isdigit() for ch in notes)


def test_fewer_than_three_repeats_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--repeats", "2", "--out", str(tmp_path / "b.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--repeats must be at least 3" in proc.stderr
    assert not (tmp_path / "b.md").exists()
