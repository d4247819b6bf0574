"""One process of the cross-process stampede test (run with ``python -m``).

Usage::

    python -m tests.patterns._aside_child REDIS_URL NAMESPACE WORKDIR INDEX [SECONDS]

It opens a cache, warms its connection and the server's script cache on another key,
writes ``ready-INDEX``, waits for ``go`` (a file barrier, so no Redis command is spent
on coordination), then runs 1,000 concurrent ``get`` of one missing key with
``lock=True`` (the loader takes SECONDS, 0.05 by default). Each loader run appends
a line to ``loads``; the values it returned go to ``done-INDEX``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from cachewright import Cache
from cachewright.patterns.aside.cache_aside import CacheAside

CALLERS = 1_000
LOAD_SECONDS = 0.05


async def main(
    url: str, namespace: str, workdir: Path, index: str, seconds: float = LOAD_SECONDS
) -> None:
    async with Cache.from_url(url, namespace=namespace) as cache:

        async def load(key: int) -> dict[str, int]:
            with (workdir / "loads").open("a") as runs:
                runs.write(f"{index}\n")
            await asyncio.sleep(seconds)
            return {"id": key}

        async def warm_load(key: int) -> dict[str, int]:
            return {"id": key}

        async with (
            CacheAside(cache, loader=warm_load, key="warm:{}", lock=True) as warm,
            CacheAside(cache, loader=load, key="item:{}", lock=True) as items,
        ):
            await warm.get(int(index))
            (workdir / f"ready-{index}").touch()
            go = workdir / "go"
            deadline = time.monotonic() + 30
            while not go.exists():  # a file barrier: costs no Redis command
                if time.monotonic() > deadline:
                    raise TimeoutError("no go signal")
                await asyncio.sleep(0.001)
            values = await asyncio.gather(*(items.get(1) for _ in range(CALLERS)))
            stats = await items.stats()
            (workdir / f"done-{index}").write_text(
                json.dumps(
                    {
                        "distinct": sorted({json.dumps(v, sort_keys=True) for v in values}),
                        "count": len(values),
                        "lock_waits": stats.lock_waits,
                    }
                )
            )


if __name__ == "__main__":
    url, namespace, workdir, index = sys.argv[1:5]
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else LOAD_SECONDS
    asyncio.run(main(url, namespace, Path(workdir), index, seconds))
