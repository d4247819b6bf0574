"""Values to envelope bytes and back: codec, compression, size limit, G5 checks."""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from cachewright.cache._expiry import Expiry
from cachewright.cache.codecs import Codec, CorruptPayload, JsonCodec, adapter_for
from cachewright.cache.entry import Entry
from cachewright.cache.envelope import (
    COMPRESSED,
    ENVELOPE_VERSION,
    HEADER,
    HEADER_SIZE,
    LEASE,
    MAGIC,
    NotAnEnvelope,
    pack,
    unpack,
)
from cachewright.errors import SerializationError, TypeMismatch

__all__ = ["Corrupt", "Lease", "Serializer", "sliding_life"]

log = logging.getLogger("cachewright.cache")

_COUNTER = re.compile(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?")


@dataclass(frozen=True, slots=True)
class Lease:
    """A placeholder some filler holds on a missing key (see ``Cache.lookup``)."""

    version: bytes
    expires_at_ms: int


_SLIDING = slice(20, 28)
_EXPIRES = slice(12, 20)
_NO_WINDOW = bytes(8)


def sliding_life(raw: bytes, now: int) -> int:
    """The ms a read extends a sliding entry by (0: not sliding or past its deadline).

    Runs for every entry read: the common case (no window) is one slice comparison."""
    if raw[_SLIDING] == _NO_WINDOW or raw[:2] != MAGIC or len(raw) < HEADER_SIZE:
        return 0
    window = int.from_bytes(raw[_SLIDING])
    if not window:
        return 0
    deadline = int.from_bytes(raw[_EXPIRES])
    return max(0, min(window, deadline - now)) if deadline else window


class Corrupt:
    """Marker result: the bytes were corrupt, foreign or of another format."""

    __slots__ = ()


CORRUPT = Corrupt()


class Serializer:
    __slots__ = ("_codec", "_compress_threshold", "_flag", "_max_bytes", "_mismatch")

    def __init__(
        self,
        codec: Codec,
        *,
        compress_threshold: int | None,
        max_bytes: int,
        on_type_mismatch: Literal["raise", "miss"],
    ) -> None:
        self._codec = codec
        self._flag = codec.flag  # a codec's mark in the envelope: read once, not per entry
        self._compress_threshold = compress_threshold
        self._max_bytes = max_bytes
        self._mismatch = on_type_mismatch

    @property
    def plain_json(self) -> bool:
        """Whether entries are plain JSON (the JSON codec itself), which batch reads
        may validate in one call."""
        return type(self._codec) is JsonCodec

    def encode(self, value: object, expiry: Expiry, tags: tuple[str, ...], tp: Any = None) -> bytes:
        payload = self._codec.encode(value, tp)
        flags = self._codec.flag
        if self._compress_threshold is not None and len(payload) > self._compress_threshold:
            payload = zlib.compress(payload, 1)
            flags |= COMPRESSED
        if len(payload) > self._max_bytes:
            raise SerializationError(
                f"encoded value is {len(payload)} bytes, over the limit of {self._max_bytes}"
            )
        try:
            return pack(
                payload,
                flags=flags,
                written_at_ms=expiry.written_at_ms,
                expires_at_ms=expiry.expires_at_ms,
                sliding_ms=expiry.sliding_ms,
                fresh_until_ms=expiry.fresh_until_ms,
                tags=tags,
            )
        except ValueError as exc:
            raise SerializationError(str(exc)) from exc

    def decode(self, raw: bytes, tp: Any, now: int) -> Entry[Any] | Lease | Corrupt:
        """An entry, a lease placeholder, or CORRUPT; raises TypeMismatch if configured."""
        if raw[:2] != MAGIC:
            return self._counter(raw, tp)
        if len(raw) < HEADER_SIZE:
            return CORRUPT
        # One struct read, no Envelope object: this runs for every entry of a get_many.
        _, version, flags, written, expires, _, fresh, tags_len, _ = HEADER.unpack_from(raw)
        if version != ENVELOPE_VERSION:
            return CORRUPT
        if flags & LEASE:
            return Lease(raw, expires)
        if (flags & ~COMPRESSED & 0x03) != self._flag:
            return CORRUPT  # written by another codec: foreign to this cache
        tags: tuple[str, ...] = ()
        payload_at = HEADER_SIZE
        if tags_len:
            try:
                env = unpack(raw)
            except NotAnEnvelope:
                return CORRUPT
            tags = env.tags
            payload_at += tags_len
        payload = raw[payload_at:]
        if flags & COMPRESSED:
            try:
                payload = zlib.decompress(payload)
            except zlib.error:
                return CORRUPT
        try:
            value = self._codec.decode(payload, tp)
        except CorruptPayload:
            return CORRUPT
        except TypeMismatch:
            if self._mismatch == "raise":
                raise
            return CORRUPT
        try:
            return Entry.from_ms(
                value,
                tags,
                expires,
                fresh,
                bool(fresh) and now >= fresh,
                written,
                raw[:HEADER_SIZE],
            )
        except OverflowError:  # a time beyond year 9999: a corrupt header
            return CORRUPT

    def _counter(self, raw: bytes, tp: Any) -> Entry[Any] | Corrupt:
        # INCRBY leaves plain ASCII numbers; they are counters, not foreign bytes.
        if not _COUNTER.fullmatch(raw):
            return CORRUPT
        number: int | float = float(raw) if (b"." in raw or b"e" in raw.lower()) else int(raw)
        if tp is not None:
            try:
                number = adapter_for(tp).validate_python(number)
            except ValidationError as exc:
                if self._mismatch == "raise":
                    raise TypeMismatch(f"the counter value {number!r} does not fit {tp!r}") from exc
                return CORRUPT
        return Entry(value=number, version=raw)
