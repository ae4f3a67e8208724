"""The ABI codec: the fast fixed-layout path agrees with eth-abi and stays strict."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from hypothesis import given
from hypothesis import strategies as st

from common.abi import EventSpec, checksum, topic0

SPEC = EventSpec(
    name="Mixed",
    signature="Mixed(address,uint256,int64,bool,bytes4)",
    topic0=topic0("Mixed(address,uint256,int64,bool,bytes4)"),
    indexed=(("who", "address"),),
    data=(("amount", "uint256"), ("delta", "int64"), ("flag", "bool"), ("tag", "bytes4")),
)
SLOW = EventSpec(  # a dynamic field forces the eth-abi path
    name="Slow",
    signature="Slow(uint256,string)",
    topic0=topic0("Slow(uint256,string)"),
    indexed=(),
    data=(("amount", "uint256"), ("note", "string")),
)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@given(
    addresses,
    st.integers(0, 2**256 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.binary(min_size=4, max_size=4),
)
def test_fast_path_equals_eth_abi(
    who: str, amount: int, delta: int, flag: bool, tag: bytes
) -> None:
    assert SPEC._fast_data is not None
    data = "0x" + encode(["uint256", "int64", "bool", "bytes4"], [amount, delta, flag, tag]).hex()
    topic = "0x" + encode(["address"], [who]).hex()
    args = SPEC.decode([SPEC.topic0, topic], data)
    assert args == {
        "who": checksum(who),
        "amount": amount,
        "delta": delta,
        "flag": flag,
        "tag": "0x" + tag.hex(),
    }


def test_dynamic_events_use_eth_abi() -> None:
    assert SLOW._fast_data is None
    data = "0x" + encode(["uint256", "string"], [7, "hello"]).hex()
    assert SLOW.decode([SLOW.topic0], data) == {"amount": 7, "note": "hello"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("0x" + "00" * 31, "bytes, expected"),
        ("0x" + "00" * 32 + "00" * 23 + "01" + "00" * 8 + "00" * 64, "int64 out of range"),
        ("0x" + "00" * 64 + "00" * 31 + "02" + "00" * 32, "bool word"),
        ("0x" + "00" * 96 + "ab" * 32, "bytes4 word has non-zero padding"),
    ],
)
def test_malformed_data_is_refused(data: str, message: str) -> None:
    topic = "0x" + "00" * 12 + "11" * 20
    with pytest.raises(ValueError, match=message):
        SPEC.decode([SPEC.topic0, topic], data)


def test_address_topic_with_dirty_padding_is_refused() -> None:
    data = "0x" + encode(["uint256", "int64", "bool", "bytes4"], [1, 1, True, b"abcd"]).hex()
    with pytest.raises(ValueError, match="padding"):
        SPEC.decode([SPEC.topic0, "0x" + "01" * 32], data)


@pytest.mark.parametrize("topic", ["0x" + "00" * 12 + "11" * 19, "0x" + "00" * 33])
def test_topic_of_another_length_is_refused(topic: str) -> None:
    data = "0x" + encode(["uint256", "int64", "bool", "bytes4"], [1, 1, True, b"abcd"]).hex()
    with pytest.raises(ValueError, match="not 32 bytes"):
        SPEC.decode([SPEC.topic0, topic], data)


def test_indexed_dynamic_and_wide_values() -> None:
    """An indexed string is its hash (the topic itself); an indexed uint256 is its number."""
    spec = EventSpec(
        name="Tagged",
        signature="Tagged(string,uint256)",
        topic0=topic0("Tagged(string,uint256)"),
        indexed=(("tag", "string"), ("id", "uint256")),
        data=(),
    )
    tag = "0x" + "AB" * 32
    args = spec.decode([spec.topic0, tag, "0x" + "ff" * 32], "0x")
    assert args == {"tag": tag.lower(), "id": 2**256 - 1}
