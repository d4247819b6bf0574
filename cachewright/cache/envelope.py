"""The versioned envelope around every cached value.

Layout (big-endian), 42 bytes then optional tags then the payload::

    magic  b"\\xccw"   2  tells our entries from foreign bytes
    version          1  ENVELOPE_VERSION; another version reads as a miss
    flags            1  COMPRESSED | PICKLE | LEASE | TAGS
    written_at_ms    8  wall clock at write; with the rest, identifies one write
    expires_at_ms    8  absolute deadline, 0 for none
    sliding_ms       8  sliding window, 0 for none
    fresh_until_ms   8  end of the fresh life (stale grace after it), 0 for none
    tags_len         2  length of the tag list that follows (JSON), 0 for none
    nonce            4  random: two writes in one millisecond never share a version

A raw ASCII number (what INCRBY leaves) is a counter, not an envelope.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

import pydantic_core

__all__ = [
    "COMPRESSED",
    "ENVELOPE_VERSION",
    "HEADER",
    "HEADER_SIZE",
    "LEASE",
    "MAGIC",
    "PICKLE",
    "TAGS",
    "Envelope",
    "NotAnEnvelope",
    "entry_tags",
    "pack",
    "unpack",
]

MAGIC = b"\xccw"
ENVELOPE_VERSION = 1
COMPRESSED = 0x01
PICKLE = 0x02
LEASE = 0x04
TAGS = 0x08

_HEADER = struct.Struct(">2sBBQQQQHI")
HEADER_SIZE = _HEADER.size
#: the header layout, for readers that want its fields without building an Envelope
HEADER = _HEADER


class NotAnEnvelope(ValueError):
    """The bytes are not an entry this version of cachewright wrote."""


@dataclass(frozen=True, slots=True)
class Envelope:
    flags: int
    written_at_ms: int
    expires_at_ms: int
    sliding_ms: int
    fresh_until_ms: int
    tags: tuple[str, ...]
    payload: bytes
    header: bytes

    @property
    def is_lease(self) -> bool:
        return bool(self.flags & LEASE)


def pack(
    payload: bytes,
    *,
    flags: int,
    written_at_ms: int,
    expires_at_ms: int = 0,
    sliding_ms: int = 0,
    fresh_until_ms: int = 0,
    tags: tuple[str, ...] = (),
) -> bytes:
    tag_bytes = pydantic_core.to_json(tags) if tags else b""
    if tags:
        flags |= TAGS
    if len(tag_bytes) > 0xFFFF:
        raise ValueError("the tag list of one entry is longer than 65535 bytes")
    header = _HEADER.pack(
        MAGIC,
        ENVELOPE_VERSION,
        flags,
        written_at_ms,
        expires_at_ms,
        sliding_ms,
        fresh_until_ms,
        len(tag_bytes),
        secrets.randbits(32),
    )
    return b"".join((header, tag_bytes, payload))


def unpack(data: bytes) -> Envelope:
    if len(data) < HEADER_SIZE or data[:2] != MAGIC:
        raise NotAnEnvelope("no cachewright header")
    _magic, version, flags, written, expires, sliding, fresh, tags_len, _ = _HEADER.unpack_from(
        data
    )
    if version != ENVELOPE_VERSION:
        raise NotAnEnvelope(f"envelope version {version}, expected {ENVELOPE_VERSION}")
    end = HEADER_SIZE + tags_len
    if len(data) < end:
        raise NotAnEnvelope("truncated tag list")
    tags: tuple[str, ...] = ()
    if tags_len:
        try:
            decoded = pydantic_core.from_json(data[HEADER_SIZE:end])
        except ValueError as exc:
            raise NotAnEnvelope("corrupt tag list") from exc
        if not isinstance(decoded, list) or not all(isinstance(t, str) for t in decoded):
            raise NotAnEnvelope("corrupt tag list")
        tags = tuple(decoded)
    return Envelope(
        flags=flags,
        written_at_ms=written,
        expires_at_ms=expires,
        sliding_ms=sliding,
        fresh_until_ms=fresh,
        tags=tags,
        payload=data[end:],
        header=data[:HEADER_SIZE],
    )


def entry_tags(data: bytes) -> tuple[str, ...]:
    """The tags recorded in stored bytes; () for anything that is not an envelope."""
    try:
        return unpack(data).tags
    except NotAnEnvelope:
        return ()
