"""The failover harness's lookups (issue 17): they run in threads under
``asyncio.to_thread``, where a ``StopIteration`` never reaches the awaiting test
(asyncio cannot set it on a future) and the test waits forever. That is how the
Cluster lagging-replica test hung: ``wait_promotion`` looked up the replica with
``next()`` in ``CLUSTER NODES`` after the replica, just continued from a SIGSTOP,
was no longer listed as the dead primary's (flagged failed by its peers, promoted
already, or the probed node silent). No server is started here.
"""

from __future__ import annotations

import pytest

from tests._sentinel import SentinelGroup
from tests._topology import ReplicatedCluster, _parse_nodes

# CLUSTER NODES just after a replica was SIGSTOPped and its primary SIGKILLed: the
# peers flag both as failed.
NODES = """\
a1 127.0.0.1:7001@17001 master,fail - 1796148531804 1796148531276 1 disconnected 0-5460
b2 127.0.0.1:7004@17004 slave,fail a1 1796148531700 1796148531618 1 connected
c3 127.0.0.1:7002@17002 myself,master - 0 0 2 connected 5461-10922
d4 127.0.0.1:7005@17005 slave c3 0 1796148531618 2 connected
e5 127.0.0.1:7003@17003 master - 0 1796148531618 3 connected 10923-16383
f6 127.0.0.1:7006@17006 slave,fail? e5 0 1796148531618 3 connected
"""


def test_failed_nodes_are_left_out_unless_asked_for() -> None:
    assert _parse_nodes(NODES) == [
        (7002, "master", None),
        (7005, "slave", 7002),
        (7003, "master", None),
    ]
    assert (7004, "slave", 7001) in _parse_nodes(NODES, failed=True)
    assert (7006, "slave", 7003) in _parse_nodes(NODES, failed=True)


def test_an_unknown_node_raises_lookup_error_not_stop_iteration() -> None:
    # Asked here, not in a thread: a StopIteration would fail the test, not hang it.
    # Ports and folders chosen, nothing started.
    with ReplicatedCluster() as cluster, pytest.raises(LookupError):
        cluster.node(1)
    group = SentinelGroup()
    try:
        with pytest.raises(LookupError):
            group.server(1)
    finally:
        group.cleanup()
