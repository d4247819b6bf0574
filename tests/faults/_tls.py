"""Test certificates made with the ``openssl`` CLI: a CA, and a server certificate for
127.0.0.1 signed by it.

Usage::

    certs = make_certs(tmp_path)        # Certs(ca=..., cert=..., key=...)
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Certs", "make_certs", "openssl_binary"]


@dataclass(frozen=True)
class Certs:
    ca: Path
    cert: Path
    key: Path


def openssl_binary() -> str | None:
    return shutil.which("openssl")


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(directory: Path) -> Certs:
    """A throwaway CA and a server certificate (SAN IP:127.0.0.1) in ``directory``."""
    openssl = openssl_binary()
    assert openssl is not None, "openssl not found"
    directory.mkdir(parents=True, exist_ok=True)
    _run(
        openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=cachewright test CA", "-keyout", "ca.key", "-out", "ca.crt",
        cwd=directory,
    )  # fmt: skip
    _run(
        openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr",
        cwd=directory,
    )  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run(
        openssl, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt",
        cwd=directory,
    )  # fmt: skip
    return Certs(
        ca=directory / "ca.crt", cert=directory / "server.crt", key=directory / "server.key"
    )
