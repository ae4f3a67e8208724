"""Addresses and paging: what common.validation accepts and the errors it names."""

from __future__ import annotations

import pytest
from eth_utils.address import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from common import validation
from common.validation import InvalidInput, address, checksum, is_decimal

BODIES = st.binary(min_size=20, max_size=20).map(bytes.hex)


@given(BODIES)
def test_checksum_is_eip55(body: str) -> None:
    assert checksum(body) == to_checksum_address("0x" + body)
    assert checksum(body.upper()) == checksum(body)


@given(BODIES)
def test_any_case_of_a_valid_address_comes_back_checksummed(body: str) -> None:
    expected = to_checksum_address("0x" + body)
    for given_case in ("0x" + body, "0x" + body.upper(), expected):
        assert address(given_case) == expected


@given(BODIES, st.data())
def test_a_mixed_case_address_with_a_wrong_checksum_is_refused(
    body: str, data: st.DataObject
) -> None:
    good = to_checksum_address("0x" + body)[2:]
    letters = [i for i, c in enumerate(good) if c.isalpha()]
    if len(letters) < 2:  # flipping one letter could give all-lower or all-upper case
        return
    i = data.draw(st.sampled_from(letters))
    bad = good[:i] + good[i].swapcase() + good[i + 1 :]
    if bad in (good.lower(), good.upper()):
        return
    with pytest.raises(InvalidInput, match="to: bad EIP-55 checksum"):
        address("0x" + bad, "to")


@pytest.mark.parametrize(
    "value", ["", "0x", "0x123", "0x" + "g" * 40, "1" * 42, "0x" + "a" * 41, None, 12]
)
def test_what_is_not_an_address_is_named(value: object) -> None:
    with pytest.raises(InvalidInput, match="owner: not an address") as info:
        address(value, "owner")
    assert info.value.field == "owner"


# str.isdigit() is True for each of these; int() reads the first two and refuses the third
NON_ASCII_DIGITS = ["\u0663", "\uff13", "\u00b9", "1\u00b2"]  # Arabic-Indic 3, fullwidth 3, ¹, 1²


@pytest.mark.parametrize("text", NON_ASCII_DIGITS)
def test_numbers_in_input_are_ascii_digits_only(text: str) -> None:
    from api_gateway.api.deps import parse_block_or_latest
    from block_sync_service.api.verification_api import _value
    from governance_service.api.grpc_api import proposal_id
    from staking_service.api.grpc_api import stake_id

    assert text.isdigit() and not is_decimal(text)
    for parse, field in (
        (lambda t: parse_block_or_latest(t, "from_block"), "from_block"),
        (stake_id, "id"),
        (proposal_id, "id"),
        (_value, "value"),
    ):
        with pytest.raises(InvalidInput, match=f"^{field}: not a"):
            parse(text)


@pytest.mark.parametrize("text", NON_ASCII_DIGITS)
def test_etherscan_numbers_are_ascii_digits_only(text: str) -> None:
    from api_gateway.api.routes.etherscan import EtherscanError, _int

    with pytest.raises(EtherscanError, match="Invalid page"):
        _int({"page": text}, "page", 1, 1, 10_000)


def test_decimal_text() -> None:
    assert is_decimal("0") and is_decimal("00123") and is_decimal("9" * 80)
    assert not any(is_decimal(t) for t in ("", "-1", "+1", "1.0", " 1", "1_000", "0x1"))


def test_paging_bounds_the_limit_and_the_offset() -> None:
    assert validation.paging(0, 0) == (100, 0)
    assert validation.paging(1000, validation.MAX_OFFSET) == (1000, validation.MAX_OFFSET)
    for limit, offset, field in ((-1, 0, "limit"), (1001, 0, "limit"), (1, -1, "offset")):
        with pytest.raises(validation.InvalidInput) as info:
            validation.paging(limit, offset)
        assert info.value.field == field
    with pytest.raises(validation.InvalidInput) as info:
        validation.paging(10, validation.MAX_OFFSET + 1)
    assert info.value.field == "offset" and "next_cursor" in info.value.message
    with pytest.raises(validation.InvalidInput) as info:  # a list without a cursor
        validation.paging(10, validation.MAX_OFFSET + 1, cursor=False)
    assert "10,000" in info.value.message and "cursor" not in info.value.message
