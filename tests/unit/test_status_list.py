"""The status list encoding (IETF Token Status List, 2 bits per entry)."""

from __future__ import annotations

import base64
import zlib

from hypothesis import given
from hypothesis import strategies as st

from app.domain.status_list import (
    INVALID,
    SUSPENDED,
    VALID,
    decode_lst,
    encode_lst,
    pack,
    read,
    status_value,
)


def test_entries_are_packed_least_significant_bits_first() -> None:
    # The draft's own example layout: entry 0 in bits 0-1 of byte 0, entry 3 in bits 6-7.
    array = pack(8, [(0, INVALID), (1, SUSPENDED), (3, INVALID), (4, SUSPENDED)])
    assert array == bytes([0b01_00_10_01, 0b00_00_00_10])


def test_states_map_to_the_registered_values() -> None:
    assert (status_value("active"), status_value("invalid"), status_value("suspended")) == (0, 1, 2)
    assert (VALID, INVALID, SUSPENDED) == (0, 1, 2)


def test_lst_is_zlib_in_base64url_without_padding() -> None:
    array = pack(1 << 17, [(5, INVALID)])
    lst = encode_lst(array)
    assert not set(lst) & set("=+/")
    assert decode_lst(lst) == array
    assert zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))) == array
    assert len(lst) < 200  # a nearly empty list compresses to almost nothing


@given(st.dictionaries(st.integers(0, 999), st.sampled_from([VALID, INVALID, SUSPENDED])))
def test_every_entry_reads_back(entries: dict[int, int]) -> None:
    array = decode_lst(encode_lst(pack(1000, entries.items())))
    for index in range(1000):
        assert read(array, index) == entries.get(index, VALID)
