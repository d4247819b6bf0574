"""The write-behind queue seam: ``WriteQueue`` (a protocol) and the records it carries.

Usage (what :class:`~cachewright.patterns.write_behind.WriteBehind` does)::

    version = await queue.put('"42"', SET, value_bytes, timeout=5.0)  # coalesces by key
    pending = await queue.peek('"42"')           # QueuedOp | None: read-your-writes

    batch = await queue.claim(500, wait=1.0)     # latest op per key, each key in flight once
    written, failed = await write_to_store(batch.ops)
    await queue.complete(batch, written)         # removed unless re-put meanwhile
    await queue.release(batch, failed)           # claimable again, for a later retry

Two implementations share one contract suite: ``MemoryWriteQueue`` (embedded default,
lost with the process) and the durable Redis queue (shared by processes, G12).

The queue never sees domain keys or values. A key is a string (the write-behind
pattern uses the JSON of the domain key, so ``42`` and ``"42"`` stay distinct and int
keys round-trip); a value is the encoded bytes of the new value, or ``None`` for a
delete. Every accepted ``put`` gets a version, an ``int`` that grows with each put of
the same key; ``complete`` compares versions to tell "this op reached the store" from
"a newer op arrived while it was in flight".

Life of one key's op::

    put ──► queued ──claim──► in flight ──complete (version unchanged)──► gone
              ▲  ▲                 │  │
              │  └─── release ─────┘  └──complete/dead_letter, newer put arrived──► queued
              │                       │                                (the newer op)
              └────── replay ◄── dead letter ◄──dead_letter (version unchanged)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "DELETE",
    "SET",
    "Batch",
    "DeadLetter",
    "OpKind",
    "QueueStats",
    "QueuedOp",
    "ReplayResult",
    "WriteQueue",
]

OpKind = Literal["set", "delete"]
SET: OpKind = "set"
DELETE: OpKind = "delete"


@dataclass(frozen=True, slots=True)
class QueuedOp:
    """The latest accepted write of one key.

    ``value`` is the encoded new value for ``SET`` and ``None`` for ``DELETE``.
    ``since`` is the wall-clock time (``time.time()``) of the oldest write of the key
    that coalesced into this op and has not reached the store: it ages
    ``oldest_pending_age`` and is kept across coalescing and release.
    ``receipt`` is opaque to callers: whatever the queue needs to acknowledge this op
    (a stream entry id for Redis; empty for memory).
    """

    key: str
    op: OpKind
    value: bytes | None
    version: int
    since: float
    receipt: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Batch:
    """Ops claimed together by one flusher: at most one op per key, oldest first.

    Every op of a batch must end in exactly one of ``complete``, ``release`` or
    ``dead_letter``; until then its key stays in flight. ``id`` names the claim (the
    consumer and a counter for Redis); an empty batch means nothing was claimable.
    """

    id: str
    ops: tuple[QueuedOp, ...] = ()

    def __len__(self) -> int:
        return len(self.ops)

    def __bool__(self) -> bool:
        return bool(self.ops)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An op the store kept rejecting, with the last error (type and message)."""

    id: str
    key: str
    op: OpKind
    value: bytes | None
    version: int
    error: str
    failed_at: float


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What ``replay`` did with each dead letter it was given.

    ``requeued``: put back in the queue. ``superseded``: a write of the same key was
    accepted after the dead-lettered one, so replaying would overwrite newer data; the
    dead letter was removed (the newer write carries the key's latest value).
    ``missing``: no dead letter had that id.
    """

    requeued: tuple[str, ...] = ()
    superseded: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A snapshot of a queue: keys pending (queued + in flight), in flight, dead letters,
    puts that coalesced into a pending op, and the age in seconds of the oldest pending
    write (0.0 when nothing is pending)."""

    pending: int
    in_flight: int
    dead_letters: int
    coalesced: int
    oldest_pending_age: float


@runtime_checkable
class WriteQueue(Protocol):
    """A coalescing, bounded queue of store writes: the seam of write-behind (G11, G12).

    Guarantees every implementation gives (the contract suite checks them):

    - Coalescing: at most one pending op per key, the latest accepted one.
    - At most one op per key in flight, across every flusher sharing the queue, so the
      store sees each key's writes in order.
    - Never drops: a put is either accepted (and then ends in the store, the queue or
      the dead letters) or raises; capacity pushes back instead of evicting.
    """

    async def put(
        self,
        key: str,
        op: OpKind,
        value: bytes | None,
        timeout: float | None,  # noqa: ASYNC109 - ends in QueueFull, see the docstring
    ) -> int:
        """Accept a write of ``key`` and return its version (greater than every earlier
        version of the key).

        - Key already queued (not in flight): the op replaces it in place (coalesced,
          counted); the key keeps its place and its ``since``.
        - Key in flight: the op is recorded as the key's pending op and ``complete`` of
          the in-flight op will see the version changed and leave this one queued. It
          becomes claimable only when the in-flight op ends (one in flight per key).
        - Key not pending: appended at the tail. If the queue already holds
          ``max_pending`` keys, waits up to ``timeout`` seconds for room (``None``:
          without limit; ``0``: not at all), then raises ``QueueFull``. A put for a key
          that is already pending never waits: coalescing needs no room.

        ``value`` is ``None`` exactly for a ``DELETE``. Raises ``QueueClosed`` after
        ``close()`` (also to writers waiting for room) and ``QueueUnavailable`` when a
        durable queue's server cannot be reached.
        """
        ...

    async def peek(self, key: str) -> QueuedOp | None:
        """The key's pending op (queued or in flight), or ``None``.

        A pending ``DELETE`` means "deleted" for readers: callers must not fall back to
        the store for that key. Dead letters are not pending.
        """
        ...

    async def peek_many(self, keys: Sequence[str]) -> Mapping[str, QueuedOp]:
        """``peek`` of many keys at once: ``{key: op}`` for the pending ones only."""
        ...

    async def claim(self, max_items: int, wait: float) -> Batch:
        """Take up to ``max_items`` queued ops (oldest first, the latest op per key) and
        mark their keys in flight.

        Waits up to ``wait`` seconds for at least one claimable op, then returns the
        batch, empty if none came. Keys already in flight are skipped. After
        ``close()`` a memory queue still hands out what it holds (so a final flush can
        drain it) but never waits.
        """
        ...

    async def confirm(self, batch: Batch, ops: Sequence[QueuedOp]) -> list[QueuedOp]:
        """Confirm the claim on ``ops`` (from ``batch``) right before they are written
        to the store: those this flusher still holds, in order.

        On a shared queue a flusher that paused past the claim timeout loses its ops
        to another flusher, which may already have written a newer value: the ops it
        lost must not be written by it (nor ended: they are not its own any more).
        A durable queue renews the claim of those it returns.
        """
        ...

    async def complete(self, batch: Batch, ops: Iterable[QueuedOp]) -> None:
        """Record that ``ops`` (from ``batch``) reached the store.

        For each op: if the key's pending version is still the op's version, the key
        is removed (room is freed, waiting writers wake); if a newer put arrived while
        it was in flight, the newer op stays queued and becomes claimable. Either way
        the key leaves flight and the op is acknowledged. Unknown or already-ended ops
        are ignored, so calling it twice is harmless.
        """
        ...

    async def release(self, batch: Batch, ops: Iterable[QueuedOp]) -> None:
        """Give ``ops`` (from ``batch``) back, unwritten, for a later retry.

        Each key leaves flight and is claimable again, keeping its place and ``since``
        (a newer op put meanwhile is the one that will be claimed). Nothing is removed.
        """
        ...

    async def dead_letter(self, batch: Batch, op: QueuedOp, error: BaseException) -> str:
        """Move ``op`` (from ``batch``) out of the queue into the dead letters with
        ``error`` and return the dead letter's id.

        The dead letter is recorded in every case. If the version is unchanged the key
        leaves the queue; if a newer put arrived meanwhile, the newer op stays queued
        and the dead letter will be ``superseded`` on replay.
        """
        ...

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` dead letters, oldest first."""
        ...

    async def replay(self, ids: Iterable[str]) -> ReplayResult:
        """Put dead letters back into the queue (as new puts, never waiting for room: an
        operator's replay may take the queue past ``max_pending`` by what it replays).

        A dead letter whose key got a newer accepted write after it failed is not
        replayed (it would overwrite newer data): it is removed and reported as
        ``superseded``. Replayed ones are removed from the dead letters.
        """
        ...

    async def drop(self, ids: Iterable[str]) -> int:
        """Delete dead letters for good (an explicit operator decision); the number
        removed."""
        ...

    async def stats(self) -> QueueStats:
        """Counts and the oldest pending age, for monitoring."""
        ...

    async def close(self) -> None:
        """Stop accepting puts (``QueueClosed``, also for writers waiting for room) and
        release resources. Pending ops are kept: the memory queue still serves
        ``peek``, ``claim`` and ``stats``; the Redis queue keeps them in Redis for
        another worker. Idempotent.
        """
        ...
