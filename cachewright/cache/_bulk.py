"""The optimistic decode of a batch read: one pydantic call for a whole ``get_many``.

Usage (what the read path does)::

    plain, payloads, other = split(raws, now_ms())   # the entries with nothing to check
    values = validate(payloads, User)                # one call; None: decode entry by entry

Most entries of a batch are plain: a JSON payload under a header with no tags, no
compression, no sliding window and no stale grace, fresh now. Their payloads are
validated together, as ``list[Json[T]]``: pydantic parses each payload on its own
(so one payload can never run into the next) and validates it as ``validate_json``
would, in one call. If any of them fails, :func:`validate` returns None and the
caller decodes the batch entry by entry, exactly as single reads do: a corrupt or
foreign entry reads as a miss and a wrong-shaped one raises ``TypeMismatch`` or
reads as a miss, as configured (G5). Entries that are not plain (tagged, sliding,
compressed, stale, leases, counters, anything odd) always take that per-entry path.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import pydantic_core
from pydantic import (
    Json,
    PydanticSchemaGenerationError,
    PydanticUserError,
    TypeAdapter,
    ValidationError,
)

from cachewright.cache.entry import MAX_MS
from cachewright.cache.envelope import ENVELOPE_VERSION, HEADER, HEADER_SIZE, MAGIC

__all__ = ["split", "validate"]

#: magic, version and no flags: a JSON payload, uncompressed, untagged, not a lease
_PLAIN = MAGIC + bytes((ENVELOPE_VERSION, 0))
_PLAIN_LEN = len(_PLAIN)

#: per type: a validator of ``list[Json[T]]``, or None where none can be built
_VALIDATORS: dict[object, TypeAdapter[list[Any]] | None] = {}


def _header_mask() -> tuple[bytes, bytes]:
    """Which bits of a header :func:`_all_plain` tests, and the values they must have.

    Magic, version and flags: a plain JSON entry. Written and expiry times: the two
    top bytes and the top bit of the third clear, so below 2**47 ms (year 6429),
    short of MAX_MS. Sliding window, fresh-until time and tag length: zero. The
    nonce: any."""
    mask, expected = bytearray(HEADER_SIZE), bytearray(HEADER_SIZE)
    mask[0:4], expected[0:4] = b"\xff" * 4, _PLAIN
    for at in (4, 12):  # written_at_ms, expires_at_ms
        mask[at : at + 3] = b"\xff\xff\x80"
    mask[20:38] = b"\xff" * 18  # sliding_ms, fresh_until_ms, tags_len
    return bytes(mask), bytes(expected)


_MASK, _EXPECTED = _header_mask()
_header = itemgetter(slice(None, HEADER_SIZE))
_payload = itemgetter(slice(HEADER_SIZE, None))


def split(raws: list[bytes | None], now: int) -> tuple[Sequence[int], list[bytes], list[int]]:
    """Indices and payloads of the plain fresh entries, and indices of the other hits.

    A ``None`` (a miss) is in neither list."""
    if None in raws:
        hits: Sequence[int] = [i for i, raw in enumerate(raws) if raw is not None]
        found: list[bytes] = [raws[i] for i in hits]  # type: ignore[misc]  # not None
    else:
        hits, found = range(len(raws)), raws  # type: ignore[assignment]  # no None in it
    if _all_plain(found):
        return hits, list(map(_payload, found)), []
    plain: list[int] = []
    payloads: list[bytes] = []
    other: list[int] = []
    unpack = HEADER.unpack_from
    for i, raw in zip(hits, found, strict=True):
        if raw[:_PLAIN_LEN] == _PLAIN and len(raw) >= HEADER_SIZE:
            _, _, _, written, expires, sliding, fresh, tags_len, _ = unpack(raw)
            # The same checks as the per-entry decode: times a datetime can hold, and
            # nothing that needs more than the payload (tags, a slide, a stale grace).
            if (
                not (sliding or tags_len)
                and written < MAX_MS
                and expires < MAX_MS
                and (not fresh or now < fresh < MAX_MS)
            ):
                plain.append(i)
                payloads.append(raw[HEADER_SIZE:])
                continue
        other.append(i)
    return plain, payloads, other


def _all_plain(found: list[bytes]) -> bool:
    """Whether every header is plain, without a stale grace, its times well in range.

    The headers, joined, read as one integer: one mask and one comparison test them
    all (no Python code per entry). A batch this says no to goes entry by entry."""
    heads = b"".join(map(_header, found))
    count = len(found)
    if len(heads) != count * HEADER_SIZE:  # an entry shorter than a header
        return False
    mask, expected = _masks(count)
    return int.from_bytes(heads) & mask == expected


@lru_cache(maxsize=32)
def _masks(count: int) -> tuple[int, int]:
    return int.from_bytes(_MASK * count), int.from_bytes(_EXPECTED * count)


def validate(payloads: list[bytes], tp: Any) -> list[Any] | None:
    """The values of JSON ``payloads`` as ``tp``, in one call; None if any fails."""
    if tp is None:
        from_json = pydantic_core.from_json
        try:
            return [from_json(payload) for payload in payloads]
        except ValueError:
            return None
    adapter = _validator(tp)
    if adapter is None:
        return None
    try:
        return adapter.validate_python(payloads)
    except ValidationError:
        return None


def _validator(tp: Any) -> TypeAdapter[list[Any]] | None:
    try:
        return _VALIDATORS[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable type expression: entry by entry
        return None
    try:
        adapter: TypeAdapter[list[Any]] | None = TypeAdapter(list[Json[tp]])
    except (PydanticUserError, PydanticSchemaGenerationError, TypeError):
        adapter = None  # the per-entry path raises the ConfigurationError
    _VALIDATORS[tp] = adapter
    return adapter
