"""Message signatures: EIP-191 personal_sign and EIP-712 typed data (eth-account), and ERC-1271
contract wallets (``isValidSignature(hash, signature)`` via eth_call)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

if TYPE_CHECKING:  # eth-account is imported on first use: ~0.3 s that a sync need not pay
    from eth_account.messages import SignableMessage

ERC1271_MAGIC = "0x1626ba7e"  # bytes4(keccak256("isValidSignature(bytes32,bytes)"))


class SignatureInputError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ChainCaller(Protocol):
    async def call(self, method: str, *params: Any) -> Any: ...


@dataclass(frozen=True)
class SignatureResult:
    valid: bool
    method: str  # eip191 | eip712 | erc1271
    recovered: str = ""
    reason: str = ""


def signable(
    *, message: str | None, message_hex: str | None, typed_data_json: str | None
) -> tuple[SignableMessage, str]:
    """The EIP-191 envelope of exactly one payload, and its method name."""
    from eth_account.messages import encode_defunct, encode_typed_data

    if typed_data_json is not None:
        try:
            data = json.loads(typed_data_json)
            if not isinstance(data, dict):
                raise ValueError("must be a JSON object")
            return encode_typed_data(full_message=data), "eip712"
        except Exception as exc:
            raise SignatureInputError(
                "typed_data_json", f"not EIP-712 typed data ({type(exc).__name__}: {exc})"
            ) from exc
    if message_hex is not None:
        try:
            return encode_defunct(hexstr=message_hex), "eip191"
        except Exception as exc:
            raise SignatureInputError("message_hex", f"not 0x-hex bytes: {exc}") from exc
    if message is not None:
        return encode_defunct(text=message), "eip191"
    raise SignatureInputError("message", "give message, message_hex or typed_data_json")


def digest(s: SignableMessage) -> bytes:
    """What the signer signed (and what ERC-1271 wallets are asked about)."""
    return keccak(b"\x19" + s.version + s.header + s.body)


async def verify_signature(
    chain: ChainCaller, address: str, s: SignableMessage, method: str, signature: bytes
) -> SignatureResult:
    from eth_account import Account

    recovered = ""
    reason = ""
    if len(signature) == 65:
        try:
            recovered = Account.recover_message(s, signature=signature)
        except Exception as exc:  # noqa: BLE001 - a malformed v/r/s is an invalid signature
            reason = f"no signer recoverable: {exc}"
        if recovered and recovered.lower() == address.lower():
            return SignatureResult(True, method, recovered)
    code = await chain.call("eth_getCode", address, "latest")
    if code not in (None, "", "0x"):  # a contract wallet: ask it (ERC-1271)
        data = ERC1271_MAGIC + abi_encode(["bytes32", "bytes"], [digest(s), signature]).hex()
        try:
            out = str(await chain.call("eth_call", {"to": address, "data": data}, "latest"))
        except Exception as exc:  # noqa: BLE001 - a revert means "not valid"
            return SignatureResult(False, "erc1271", recovered, f"isValidSignature reverted: {exc}")
        ok = out[:10].lower() == ERC1271_MAGIC
        return SignatureResult(
            ok, "erc1271", recovered, "" if ok else f"isValidSignature answered {out[:10]}"
        )
    if recovered:
        reason = f"signed by {recovered}, not {address}"
    elif not reason:
        reason = f"a {len(signature)}-byte signature is not an ECDSA signature (65 bytes)"
    return SignatureResult(False, method, recovered, reason)
