"""The flush worker of ``write_behind_profiles.py``: writes the durable queue to the store.

Run it next to the application, as many copies as you like::

    export CACHEWRIGHT_URL=redis://127.0.0.1:6379/0
    python examples/write_behind_worker.py

    # the same worker, from the command line (run from the examples directory; the
    # namespace is the example's own, unless CACHEWRIGHT_NAMESPACE sets one):
    cachewright --namespace example-profiles worker \\
        --store write_behind_profiles:profile_store \\
        --type write_behind_profiles:Profile --key-type int --queue profiles

It stops gracefully on SIGTERM or Ctrl-C: the batch in hand is written and
acknowledged first. A worker killed outright (SIGKILL) loses nothing either: its
batch is taken over by another worker once ``claim_idle`` has passed.
"""

from __future__ import annotations

import asyncio
import logging

from write_behind_profiles import NAMESPACE, QUEUE_NAME, Profile, profile_store

from cachewright import Settings
from cachewright.patterns.worker import run_worker


async def main() -> None:
    settings = Settings(namespace=NAMESPACE)  # the application's namespace
    if settings.url.startswith("memory://"):
        raise SystemExit("set CACHEWRIGHT_URL to the Redis the application uses")
    stats = await run_worker(
        settings.url,
        profile_store,
        type=Profile,
        key_type=int,
        namespace=NAMESPACE,
        name=QUEUE_NAME,
        settings=settings,
    )
    print(f"worker stopped: {stats.flushed} writes flushed in {stats.batches} batches")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main())
