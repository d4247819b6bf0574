"""The line ``WriteBehind.close()`` logs when writes stay queued says why, never "(None)"."""

from __future__ import annotations

import logging

import pytest

from cachewright import Cache
from cachewright.patterns.write_behind import WriteBehind
from cachewright.stores import MemoryStore


@pytest.mark.redis
async def test_the_close_log_names_the_reason(
    redis_url: str, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Cache.from_url(redis_url, namespace=namespace) as cache:
        notes = WriteBehind(
            cache, MemoryStore[int, str](), key="note:{}", type=str, key_type=int, flusher=False
        )
        await notes.start()
        for i in range(5):
            await notes.set(i, f"note {i}")
        with caplog.at_level(logging.WARNING, logger="cachewright.write_behind"):
            report = await notes.close()
    assert report.pending == 5
    assert report.error is None
    (line,) = [r.getMessage() for r in caplog.records if "still pending" in r.getMessage()]
    assert "5 writes still pending" in line
    assert "(None)" not in line
    assert "flusher=False: the flush workers write them" in line
