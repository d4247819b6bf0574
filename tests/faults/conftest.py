"""Fixtures of the fault tests: a private PostgreSQL per module that may be stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests._servers import need
from tests.faults._pg import PrivatePostgres, postgres_binaries


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of the module's own (initdb + pg_ctl), which tests stop and start."""
    if postgres_binaries() is None:
        need("PostgreSQL binaries (initdb, pg_ctl) not found")
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.cleanup()
