"""The batch path's sorting of stored bytes agrees, entry for entry, with the checks of
a single read: its whole-batch test of the headers (one masked comparison) may send
a batch entry by entry, but never lets through an entry a single read would decode
otherwise (tags, a slide, a stale grace, a lease, a compressed or pickled payload,
a time past year 9999, a foreign or short header). No store is involved: this is the
sorting alone, on bytes built here; tests/cache/test_get_many_batch.py reads such
entries back through every backend."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from cachewright.cache._bulk import split
from cachewright.cache.entry import MAX_MS
from cachewright.cache.envelope import HEADER, HEADER_SIZE, MAGIC

NOW = 1_780_000_000_000  # a wall clock in ms (2026)

#: times around every bound the checks know
TIMES = st.sampled_from(
    [0, 1, NOW - 1, NOW, NOW + 1, NOW + 60_000, 2**47 - 1, 2**47, MAX_MS - 1, MAX_MS,
     2**63, 2**64 - 1]
)  # fmt: skip


@st.composite
def stored(draw: st.DrawFn) -> bytes | None:
    """A miss, foreign bytes, a counter, or an envelope with any mix of fields."""
    kind = draw(st.sampled_from(["miss", "foreign", "short", "envelope", "plain"]))
    if kind == "miss":
        return None
    if kind == "foreign":
        return draw(st.binary(max_size=60))
    if kind == "short":
        return MAGIC + draw(st.binary(max_size=HEADER_SIZE - 3))
    payload = draw(st.sampled_from([b"1", b'{"n": 2}', b"", b"[3"]))
    if kind == "plain":
        fields = (MAGIC, 1, 0, NOW - 5, draw(st.sampled_from([0, NOW + 60_000])), 0, 0, 0)
    else:
        fields = (
            draw(st.sampled_from([MAGIC, b"\xccx", b"ab"])),
            draw(st.sampled_from([1, 0, 2])),
            draw(st.sampled_from([0, 1, 2, 4, 8, 0x80])),
            draw(TIMES),
            draw(TIMES),
            draw(st.sampled_from([0, 0, 60_000])),
            draw(TIMES),
            draw(st.sampled_from([0, 0, 5])),
        )
    nonce = draw(st.integers(0, 2**32 - 1))
    return HEADER.pack(*fields, nonce) + payload


def plain_by_single_read_checks(raw: bytes) -> bool:
    """What a single read needs no more than the payload for: the reference."""
    if len(raw) < HEADER_SIZE:
        return False
    magic, version, flags, written, expires, sliding, fresh, tags_len, _ = HEADER.unpack_from(raw)
    return (
        magic == MAGIC
        and version == 1
        and flags == 0
        and not sliding
        and not tags_len
        and written < MAX_MS
        and expires < MAX_MS
        and (not fresh or NOW < fresh < MAX_MS)
    )


def reference(raws: list[bytes | None]) -> tuple[list[int], list[bytes], list[int]]:
    plain, payloads, other = [], [], []
    for i, raw in enumerate(raws):
        if raw is None:
            continue
        if plain_by_single_read_checks(raw):
            plain.append(i)
            payloads.append(raw[HEADER_SIZE:])
        else:
            other.append(i)
    return plain, payloads, other


@settings(max_examples=400, deadline=None)
@given(st.lists(stored(), max_size=40))
def test_split_agrees_with_the_single_read_checks(raws: list[bytes | None]) -> None:
    plain, payloads, other = split(raws, NOW)
    assert (list(plain), payloads, other) == reference(raws)


@settings(max_examples=100, deadline=None)
@given(st.lists(stored().filter(lambda raw: raw is not None), min_size=1, max_size=40))
def test_a_batch_of_plain_entries_with_one_odd_one_out(raws: list[bytes]) -> None:
    """The whole-batch test must catch a single entry that differs in any field."""
    plain_entry = HEADER.pack(MAGIC, 1, 0, NOW - 5, NOW + 60_000, 0, 0, 0, 7) + b"1"
    for odd in raws:
        batch: list[bytes | None] = [plain_entry] * 30
        batch[17] = odd
        plain, payloads, other = split(batch, NOW)
        assert (list(plain), payloads, other) == reference(batch)


def test_every_header_field_the_mask_tests_sends_the_batch_entry_by_entry() -> None:
    """One byte changed anywhere in one header but the nonce: never read as plain
    unless the single read checks say it still is."""
    base = bytearray(HEADER.pack(MAGIC, 1, 0, NOW - 5, NOW + 60_000, 0, 0, 0, 7) + b"1")
    for at in range(HEADER_SIZE):
        for value in (0x00, 0x01, 0x80, 0xFF):
            changed = bytearray(base)
            changed[at] = value
            batch: list[bytes | None] = [bytes(base)] * 5 + [bytes(changed)] + [None]
            plain, payloads, other = split(batch, NOW)
            assert (list(plain), payloads, other) == reference(batch), (at, value)


def test_the_header_layout_is_the_one_the_mask_assumes() -> None:
    assert HEADER.format == ">2sBBQQQQHI"
    assert struct.calcsize(HEADER.format) == HEADER_SIZE == 42
