"""A private PostgreSQL for fault tests: initdb and pg_ctl on a free port, in a
temporary directory, trust auth, stopped and removed at teardown.

Usage::

    pg = PrivatePostgres().start()      # need() it first: see ``postgres_binaries``
    url = pg.url                        # postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres
    pg.stop()                           # a store outage (fast shutdown)
    pg.start()                          # back, same data
    pg.cleanup()

As root, initdb refuses to run: every command then runs as the ``postgres`` user
(``runuser``), in a directory given to that user. ``fsync`` and full-page writes
are off (they only matter when the machine loses power, which no test does); commits
stay synchronous, so even ``stop("immediate")`` (a crash) keeps every acknowledged one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests._servers import free_port

__all__ = ["PrivatePostgres", "postgres_binaries"]

_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/lib/postgresql/16/bin")


def postgres_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for directory in _DIRS:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    return None


class PrivatePostgres:
    """One PostgreSQL cluster of this test's own, on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        bin_dir = postgres_binaries()
        if bin_dir is None:
            raise FileNotFoundError("initdb / pg_ctl not found")
        self.bin = bin_dir
        self.port = free_port()
        shm = Path("/dev/shm")
        self.dir = Path(tempfile.mkdtemp(prefix="cw-pg-", dir=shm if shm.is_dir() else None))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*self._as_user, *args], capture_output=True, timeout=timeout, check=False
        )

    def _check(self, done: subprocess.CompletedProcess[bytes], what: str) -> None:
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{what} failed ({done.returncode}): {done.stderr.decode(errors='replace')}{log}"
            )

    def start(self) -> PrivatePostgres:
        if not self._initialised:
            self._check(
                self._run(
                    str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                    "-A", "trust", "-E", "UTF8", "--no-sync",
                ),
                "initdb",
            )  # fmt: skip
            self._initialised = True
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off -c max_connections=200"
        )
        self._check(
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                "-l", str(self.log), "-w", "-t", "60", "start",
            ),
            "pg_ctl start",
        )  # fmt: skip
        return self

    def running(self) -> bool:
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "status", timeout=30)
        return done.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` ends sessions; ``immediate`` is a crash-like stop)."""
        if self._initialised and self.running():
            self._check(
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode,
                    "-w", "-t", "60", "stop",
                ),
                "pg_ctl stop",
            )  # fmt: skip

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
