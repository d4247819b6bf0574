"""Run as a script by test_exit.py: sync objects left open when the interpreter exits.

Nothing is closed on purpose: the exit hook must flush the write-behind (its flush
interval is an hour, so nothing reaches the database before exit) and stop the
engine, with nothing printed to stderr and no hang.
"""

from __future__ import annotations

import os
import sqlite3
import sys

from cachewright import Settings
from cachewright.sync import Cache, CacheAside, WriteBehind


class Counts:
    """A synchronous repository on the sqlite3 module."""

    def __init__(self, path: str) -> None:
        self.path = path
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS counts (k INTEGER PRIMARY KEY, v INTEGER)")

    def get(self, key: int) -> int | None:
        with sqlite3.connect(self.path) as db:
            row = db.execute("SELECT v FROM counts WHERE k = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def set(self, key: int, value: int) -> None:
        self.set_many({key: value})

    def set_many(self, items: dict[int, int]) -> None:
        with sqlite3.connect(self.path) as db:
            db.executemany("INSERT OR REPLACE INTO counts VALUES (?, ?)", list(items.items()))

    def delete(self, key: int) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("DELETE FROM counts WHERE k = ?", (key,))


def main() -> None:
    url, namespace, path = sys.argv[1], sys.argv[2], sys.argv[3]
    cache = Cache.from_url(url, settings=Settings(namespace=namespace))
    repo = Counts(path)
    counts: WriteBehind[int, int] = WriteBehind(
        cache, repo, key="count:{}", type=int, flush_interval=3600, queue_name=namespace
    )
    reads: CacheAside[int, int] = CacheAside(cache, loader=repo.get, key="r:{}", type=int)
    for n in range(100):
        counts.set(n, n * n)
    reads.get(1)
    print(f"accepted {counts.stats().pending} writes; exiting without close", flush=True)
    if len(sys.argv) > 4:
        os._exit(0)  # no exit hooks at all: what is lost is what was pending


if __name__ == "__main__":
    main()
