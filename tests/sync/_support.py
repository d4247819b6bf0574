"""Helpers of the sync tests: a repository on SQLAlchemy's sync engine, engine probes."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from cachewright.sync._runtime import CALL_TASK, runtime
from tests.stores._models import Profile

__all__ = ["ProfileRepository", "calls_waiting"]


class ProfileRepository:
    """Profiles as JSON rows through SQLAlchemy's *synchronous* engine; counts calls.

    ``fail_on`` makes ``set`` and ``set_many`` raise ``fail_with`` for that key.
    """

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.table = sa.Table(
            f"sync_profiles_{uuid.uuid4().hex[:8]}",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("body", sa.Text, nullable=False),
        )
        self.table.create(self.engine)
        self.calls: dict[str, int] = {}
        self.threads: set[str] = set()
        self.fail_on: int | None = None
        self.fail_with: Exception = RuntimeError("the repository refused")
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1
            self.threads.add(threading.current_thread().name)

    def get(self, key: int) -> Profile | None:
        self._count("get")
        with self.engine.connect() as conn:
            body = conn.execute(
                sa.select(self.table.c.body).where(self.table.c.id == key)
            ).scalar_one_or_none()
        return None if body is None else Profile.model_validate_json(body)

    def get_many(self, keys: Sequence[int]) -> Mapping[int, Profile]:
        self._count("get_many")
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.table).where(self.table.c.id.in_(list(keys))))
            return {row.id: Profile.model_validate_json(row.body) for row in rows}

    def set(self, key: int, value: Profile) -> None:
        self._count("set")
        self.set_many({key: value})
        self.calls["set_many"] -= 1

    def set_many(self, items: Mapping[int, Profile]) -> None:
        self._count("set_many")
        if self.fail_on in items:
            raise self.fail_with
        with self.engine.begin() as conn:
            conn.execute(sa.delete(self.table).where(self.table.c.id.in_(list(items))))
            if items:
                rows = [{"id": k, "body": v.model_dump_json()} for k, v in items.items()]
                conn.execute(sa.insert(self.table), rows)

    def delete(self, key: int) -> None:
        self._count("delete")
        with self.engine.begin() as conn:
            conn.execute(sa.delete(self.table).where(self.table.c.id == key))

    def rows(self) -> dict[int, Profile]:
        """What the database holds, read directly (not counted)."""
        with self.engine.connect() as conn:
            return {
                row.id: Profile.model_validate_json(row.body)
                for row in conn.execute(sa.select(self.table))
            }

    def close(self) -> None:
        self.table.drop(self.engine)
        self.engine.dispose()


async def _waiting() -> int:
    # Sync calls in flight on the engine: one named task each (this probe is one too).
    return [task.get_name() for task in asyncio.all_tasks()].count(CALL_TASK) - 1


def calls_waiting() -> int:
    """How many sync calls (other than this probe) the engine is running right now."""
    return runtime().call(_waiting())
