"""Where the Redis write queue keeps things: partitions, their keys, and the op format.

Usage::

    layout = Layout("shop", "profiles", partitions=8)
    part = layout.partition_of('"user-1"')       # a Partition, by a stable hash of the key
    part.ops, part.stream                        # '{shop~wb:profiles:3.1}:ops', ...
    packed = pack(7, 1_700_000_000_000, "set", b"{}")
    unpack('"user-1"', packed)                   # QueuedOp(version=7, since=1.7e9, ...)

Each partition lives under its own hash tag, so all its keys share one Cluster slot
(its Lua scripts are atomic) while different partitions spread over the cluster. The
tags are chosen so the partitions' slots sit evenly over the 16,384 slots: a cluster
that splits slots into equal ranges (what ``redis-cli --cluster create`` does) then
hosts them on different nodes.

Keys of one partition, tag ``T``::

    {T}:ops      HASH    queue key -> "version:since_ms:op:" + value  (latest op per key)
    {T}:flight   HASH    queue key -> "version:entry_id"   (the op a flusher holds)
    {T}:stream   STREAM  one entry {k: queue key} per pending key; consumer group "flush"
    {T}:meta     HASH    seq (version counter, never reset), coalesced (count); in
                         partition 0 also partitions (the count every process checks)
    {T}:dead     STREAM  dead letters {k, o, v, n: version, e: error, t: failed_at_ms}
    {T}:dlatest  HASH    queue key -> latest version accepted, for keys with dead letters
    {T}:dcount   HASH    queue key -> number of its dead letters
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from cachewright.errors import ConfigurationError
from cachewright.patterns.write_behind.queues.base import DELETE, SET, OpKind, QueuedOp

__all__ = [
    "GROUP",
    "Layout",
    "Partition",
    "frame",
    "frame_keys",
    "op_code",
    "pack",
    "parse_receipt",
    "unpack",
]

#: the consumer group every flusher of a queue reads through
GROUP = "flush"

_NAMESPACE = re.compile(r"^[^:~\s*?\[\]\\{}]{1,64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_OP_CODES: dict[OpKind, bytes] = {SET: b"s", DELETE: b"d"}
_OPS: dict[bytes, OpKind] = {b"s": SET, b"d": DELETE}


@dataclass(frozen=True, slots=True)
class Partition:
    """The Redis keys of one partition (all under one hash tag)."""

    index: int
    tag: str
    ops: str
    flight: str
    stream: str
    meta: str
    dead: str
    dead_latest: str
    dead_count: str

    @classmethod
    def named(cls, index: int, tag: str) -> Partition:
        base = "{" + tag + "}:"
        return cls(
            index,
            tag,
            base + "ops",
            base + "flight",
            base + "stream",
            base + "meta",
            base + "dead",
            base + "dlatest",
            base + "dcount",
        )


class Layout:
    """The partitions of one queue, and which one a key belongs to."""

    __slots__ = ("name", "namespace", "partitions")

    def __init__(self, namespace: str, name: str, partitions: int) -> None:
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            raise ConfigurationError(
                "namespace must be 1-64 characters without ':', '~', braces, spaces or globs"
            )
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigurationError("queue name must be 1-64 of A-Z a-z 0-9 _ . -")
        if not 1 <= partitions <= 1024:
            raise ConfigurationError(f"partitions must be 1..1024, got {partitions}")
        self.namespace = namespace
        self.name = name
        self.partitions = tuple(
            Partition.named(index, _spread_tag(f"{namespace}~wb:{name}:{index}", index, partitions))
            for index in range(partitions)
        )

    def partition_of(self, key: str) -> Partition:
        # crc32, not hash(): every process must map a key to the same partition.
        digest = zlib.crc32(key.encode("utf-8", "surrogatepass"))
        return self.partitions[digest % len(self.partitions)]


def _spread_tag(base: str, index: int, count: int) -> str:
    """``base`` plus the first suffix whose slot falls in the ``index``-th of ``count``
    equal slot ranges (a few tries on average; deterministic)."""
    for salt in range(100_000):
        tag = f"{base}.{salt}"
        if key_slot(tag.encode()) * count // REDIS_CLUSTER_HASH_SLOTS == index:
            return tag
    raise AssertionError("unreachable: CRC16 covers every slot range")  # pragma: no cover


def pack(version: int, since_ms: int, op: OpKind, value: bytes | None) -> bytes:
    """The ops-hash form of an op (the Lua scripts build the same bytes)."""
    return b"%d:%d:%s:%s" % (version, since_ms, _OP_CODES[op], value or b"")


def op_code(op: OpKind) -> bytes:
    return _OP_CODES[op]


def unpack(key: str, packed: bytes, receipt: str = "") -> QueuedOp:
    version, since_ms, code, value = packed.split(b":", 3)
    op = _OPS[code]
    return QueuedOp(
        key,
        op,
        value if op == SET else None,
        int(version),
        int(since_ms) / 1000.0,
        receipt,
    )


def frame(items: Iterable[str | int]) -> bytes:
    """A list as one script argument: ``<byte length>:<bytes>`` per item (the Lua
    ``framed`` reads it back). One argument instead of one per item: redis-py encodes
    each argument in Python, which cost more than the scripts' work on a big batch.

    >>> frame(["a:b", 12, "é"])
    b'3:a:b2:122:\\xc3\\xa9'
    """
    parts = []
    for item in items:
        text = str(item)
        size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        parts.append(f"{size}:{text}")
    return "".join(parts).encode("utf-8", "surrogatepass")


def frame_keys(keys: Sequence[str]) -> tuple[str, bytes]:
    """Keys as two script arguments: their byte lengths joined by ``,`` and their bytes
    end to end (the Lua ``keyed`` reads them back). Cheaper than :func:`frame` for a
    batch: for ASCII keys the work is done by ``join`` and ``map``, not per key in
    Python.

    >>> frame_keys(["a:b", "", "é"])
    ('3,0,2', b'a:b\xc3\xa9')
    """
    text = "".join(keys)
    if text.isascii():
        return ",".join(map(str, map(len, keys))), text.encode()
    sizes = (len(key.encode("utf-8", "surrogatepass")) for key in keys)
    return ",".join(map(str, sizes)), text.encode("utf-8", "surrogatepass")


def parse_receipt(receipt: str) -> tuple[int, str] | None:
    """``"3/1700000000000-0"`` -> ``(3, "1700000000000-0")``; ``None`` if not ours.

    >>> parse_receipt("3/1700000000000-0"), parse_receipt("3/17-"), parse_receipt("x")
    ((3, '1700000000000-0'), None, None)
    """
    index, slash, entry = receipt.partition("/")
    ms, dash, seq = entry.partition("-")
    # isascii: str.isdigit admits other scripts' digits; split by hand, not a regex
    # (it runs twice per op of every batch)
    if slash and dash and receipt.isascii() and index.isdigit() and ms.isdigit() and seq.isdigit():
        return int(index), entry
    return None
