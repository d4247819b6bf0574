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


def split(raws: list[bytes | None], now: int) -> tuple[list[int], list[bytes], list[int]]:
    """Indices and payloads of the plain fresh entries, and indices of the other hits.

    A ``None`` (a miss) is in neither list."""
    plain: list[int] = []
    payloads: list[bytes] = []
    other: list[int] = []
    unpack = HEADER.unpack_from
    for i, raw in enumerate(raws):
        if raw is None:
            continue
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
