"""The documentation builds, and says what the code does.

``mkdocs build --strict`` runs here (about 10 s), as in CI: a broken link, a missing
page or an API reference entry that no longer resolves fails the suite. The other
tests keep the prose honest: every setting is on the configuration page, every test
file the guarantees page cites exists, the README's example runs and its links
resolve, and the exit codes documented for the command are the ones it uses.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cachewright._cli.exits import ExitCode
from cachewright.settings import Settings
from tests._servers import need

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        need("mkdocs-material is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.slow
def test_mkdocs_build_strict_passes(site: Path) -> None:
    assert (site / "index.html").exists()
    assert (site / "reference" / "cache" / "index.html").exists()


@pytest.mark.slow
def test_configuration_page_lists_every_setting(site: Path) -> None:
    page = (site / "configuration" / "index.html").read_text()
    for name, field in Settings.model_fields.items():
        assert f"CACHEWRIGHT_{name.upper()}" in page, name
        assert field.description, f"Settings.{name} needs a description for the docs"


def test_guarantees_page_covers_g1_to_g13_and_cites_real_tests() -> None:
    text = (DOCS / "guarantees.md").read_text()
    for number in range(1, 14):
        assert f"### G{number} " in text, f"G{number} is missing"
    cited = set(re.findall(r"`(tests/[\w/]+\.py)`", text))
    assert len(cited) >= 15
    missing = sorted(path for path in cited if not (ROOT / path).exists())
    assert not missing, f"the guarantees page cites missing test files: {missing}"


def test_cli_page_documents_every_exit_code() -> None:
    text = (DOCS / "cli.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", text, re.MULTILINE))
    assert set(map(int, rows)) == {int(code) for code in ExitCode}


def test_readme_has_the_two_commands_and_working_links() -> None:
    text = (ROOT / "README.md").read_text()
    assert 'pip install -e ".[all]" && cachewright demo' in text
    assert 'pip install -e ".[all]" && CI=true python -m pytest -q' in text
    for target in re.findall(r"\]\(((?:docs|examples)/[^)#]*)", text):
        assert (ROOT / target).exists(), target


def test_readme_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert match is not None
    code = match.group(1)
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 20, "keep the README example to 20 lines of code"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEWRIGHT_")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["id=1 name='Ada'", "id=1 name='Ada'"]
