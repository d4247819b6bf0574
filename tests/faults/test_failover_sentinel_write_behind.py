"""Write-behind through a Sentinel failover (issue 17).

As :mod:`tests.faults.test_failover_write_behind`, on a Sentinel group (one primary,
one replica, three sentinels): ``WriteBehind`` on a ``Cache`` built from the
``redis+sentinel://`` URL, its queue sharing the cache's client, two flush workers
draining into PostgreSQL, the store compared with the acknowledged writes. The runs
are shared with the Cluster twin (:mod:`tests.faults._write_failover_runs`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cachewright.stores import SQLStore
from tests._sentinel import SentinelGroup
from tests.faults._failover import LEAKED_CLIENTS
from tests.faults._write_failover_runs import (
    OnSentinel,
    on_a_lagging_replica,
    through_five_failovers,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, *LEAKED_CLIENTS]


@pytest.mark.parametrize("durability", ["default", "replicated"])
async def test_write_behind_through_five_sentinel_failovers(
    group: SentinelGroup,
    pg_store: SQLStore[int, int],
    pg_url: str,
    namespace: str,
    tmp_path: Path,
    durability: str,
) -> None:
    """Two worker processes carry on through five primary kills and drain the queue:
    nothing dead-lettered, only cachewright errors reach the writer, and replicated
    mode loses nothing acknowledged; the loss and the errors seen are printed."""
    await through_five_failovers(
        OnSentinel(group), pg_store, pg_url, namespace, tmp_path, durability
    )


@pytest.mark.parametrize("durability", ["default", "replicated"])
async def test_acknowledged_writes_on_a_lagging_sentinel_replica(
    group: SentinelGroup,
    pg_store: SQLStore[int, int],
    namespace: str,
    durability: str,
) -> None:
    """The replica is frozen behind 32 MB of replication stream, writes go on, the
    primary is SIGKILLed, the replica continued and promoted, then two flush workers
    (in this process) drain. Default mode loses what was acknowledged meanwhile
    (counted); replicated mode (issue 17, item 3) must lose nothing acknowledged."""
    await on_a_lagging_replica(OnSentinel(group), pg_store, namespace, durability)
