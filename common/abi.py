"""Contract ABIs: call encoding, result decoding and event decoding (eth-abi).

Topic0 of an event is keccak256 of its canonical signature, computed from the ABI (never
hard-coded). Decoded values follow the event envelope's rules: uint/int as Python int,
addresses EIP-55 checksummed, bytes as 0x-hex, strings verbatim, arrays as lists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak


@functools.lru_cache(maxsize=1 << 16)
def checksum(address: str) -> str:
    """EIP-55 form of an address (cached: the same holders come back all the time)."""
    return str(to_checksum_address(address))


def canonical_type(param: Mapping[str, Any]) -> str:
    typ = str(param["type"])
    if typ.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){typ[len('tuple') :]}"
    return typ


def signature(entry: Mapping[str, Any]) -> str:
    return f"{entry['name']}({','.join(canonical_type(p) for p in entry['inputs'])})"


def selector(sig: str) -> bytes:
    return keccak(text=sig)[:4]


def topic0(sig: str) -> str:
    return "0x" + keccak(text=sig).hex()


def timelock_operation_id(
    governor: str,
    targets: Sequence[str],
    values: Sequence[int],
    calldatas: Sequence[str],
    description: str,
) -> str:
    """The TimelockController operation under which OpenZeppelin 5's GovernorTimelockControl
    queues a proposal: ``hashOperationBatch(targets, values, calldatas, 0, salt)`` with
    ``salt = bytes20(governor) ^ keccak256(bytes(description))``."""
    prefix = bytes.fromhex(governor[2:]) + bytes(12)  # bytes20 -> bytes32: zeros on the right
    salt = bytes(a ^ b for a, b in zip(prefix, keccak(text=description), strict=True))
    encoded = abi_encode(
        ["address[]", "uint256[]", "bytes[]", "bytes32", "bytes32"],
        [list(targets), list(values), [bytes.fromhex(c[2:]) for c in calldatas], bytes(32), salt],
    )
    return "0x" + keccak(encoded).hex()


def normalize(typ: str, value: Any) -> Any:
    """eth-abi's decoded value -> the envelope's representation."""
    if typ.endswith("]"):
        base = typ[: typ.rindex("[")]
        return [normalize(base, v) for v in value]
    if typ == "address":
        return checksum(value)
    if typ.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value


def _word_decoder(typ: str) -> Callable[[bytes], Any] | None:
    """A strict decoder of one 32-byte ABI word for static elementary types, else None."""
    if typ.startswith("uint") and (typ == "uint" or typ[4:].isdigit()):
        bits = int(typ[4:] or 256)

        def dec_uint(w: bytes) -> int:
            v = int.from_bytes(w, "big")
            if v >> bits:
                raise ValueError(f"{typ} out of range")
            return v

        return dec_uint
    if typ.startswith("int") and (typ == "int" or typ[3:].isdigit()):
        bits = int(typ[3:] or 256)

        def dec_int(w: bytes) -> int:
            v = int.from_bytes(w, "big", signed=True)
            if not -(1 << (bits - 1)) <= v < (1 << (bits - 1)):
                raise ValueError(f"{typ} out of range")
            return v

        return dec_int
    if typ == "address":

        def dec_address(w: bytes) -> str:
            if any(w[:12]):
                raise ValueError("address word has non-zero padding")
            return checksum("0x" + w[12:].hex())

        return dec_address
    if typ == "bool":

        def dec_bool(w: bytes) -> bool:
            v = int.from_bytes(w, "big")
            if v > 1:
                raise ValueError("bool word is neither 0 nor 1")
            return v == 1

        return dec_bool
    if typ.startswith("bytes") and typ[5:].isdigit() and 1 <= int(typ[5:]) <= 32:
        n = int(typ[5:])

        def dec_bytes(w: bytes) -> str:
            if any(w[n:]):
                raise ValueError(f"{typ} word has non-zero padding")
            return "0x" + w[:n].hex()

        return dec_bytes
    return None


@dataclass(frozen=True)
class EventSpec:
    name: str
    signature: str
    topic0: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) in topic order
    data: tuple[tuple[str, str], ...]  # (name, type) in data order
    anonymous: bool = False
    # strict per-word decoders when every data field is static (most events): no eth-abi call
    _fast_data: tuple[Callable[[bytes], Any], ...] | None = field(
        default=None, compare=False, repr=False
    )

    # per indexed argument: (name, decoder of its 32-byte topic), built once per event
    _topic_decoders: tuple[tuple[str, Callable[[bytes], Any]], ...] = field(
        default=(), compare=False, repr=False
    )
    # per data word when all are static: (name, decoder, first byte, end byte)
    _data_words: tuple[tuple[str, Callable[[bytes], Any], int, int], ...] = field(
        default=(), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        decoders = [_word_decoder(t) for _, t in self.data]
        if all(d is not None for d in decoders):
            fast = tuple(d for d in decoders if d is not None)
            object.__setattr__(self, "_fast_data", fast)
            words = tuple(
                (name, dec, 32 * i, 32 * i + 32)
                for i, ((name, _), dec) in enumerate(zip(self.data, fast, strict=True))
            )
            object.__setattr__(self, "_data_words", words)
        object.__setattr__(
            self, "_topic_decoders", tuple((n, _topic_decoder(t)) for n, t in self.indexed)
        )

    def decode(self, topics: Sequence[str], data: str | bytes) -> dict[str, Any]:
        """Decode one log's topics (0x-hex) and data into {arg name: value}."""
        if len(topics) != 1 + len(self.indexed):
            raise ValueError(
                f"{self.signature}: expected {1 + len(self.indexed)} topics, got {len(topics)}"
            )
        args: dict[str, Any] = {}
        for (name, dec), topic in zip(self._topic_decoders, topics[1:], strict=True):
            raw = bytes.fromhex(topic[2:])
            if len(raw) != 32:
                raise ValueError(f"{self.signature}: topic {topic!r} is not 32 bytes")
            args[name] = dec(raw)
        blob = bytes.fromhex(data[2:]) if isinstance(data, str) else data
        if self._fast_data is not None:
            if len(blob) != 32 * len(self._fast_data):
                raise ValueError(
                    f"{self.signature}: data is {len(blob)} bytes, expected "
                    f"{32 * len(self._fast_data)}"
                )
            for name, dec, start, end in self._data_words:
                args[name] = dec(blob[start:end])
            return args
        values = abi_decode([t for _, t in self.data], blob) if self.data else ()
        for (name, typ), value in zip(self.data, values, strict=True):
            args[name] = normalize(typ, value)
        return args


def _topic_decoder(typ: str) -> Callable[[bytes], Any]:
    """An indexed argument's decoder: dynamic values are stored as their hash (the topic)."""
    if _is_dynamic(typ):
        return _as_hex
    word = _word_decoder(typ)
    if word is not None:
        return word
    return lambda raw: normalize(typ, abi_decode([typ], raw)[0])


def _as_hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def _is_dynamic(typ: str) -> bool:
    return typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("(")


class ContractABI:
    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        self.abi = list(abi)
        self._functions: dict[str, list[Mapping[str, Any]]] = {}
        self.events: dict[str, EventSpec] = {}  # by name
        self.events_by_topic: dict[str, EventSpec] = {}
        for entry in self.abi:
            if entry.get("type") == "function":
                self._functions.setdefault(entry["name"], []).append(entry)
            elif entry.get("type") == "event":
                sig = signature(entry)
                spec = EventSpec(
                    name=entry["name"],
                    signature=sig,
                    topic0=topic0(sig),
                    indexed=tuple(
                        (p["name"], canonical_type(p)) for p in entry["inputs"] if p["indexed"]
                    ),
                    data=tuple(
                        (p["name"], canonical_type(p)) for p in entry["inputs"] if not p["indexed"]
                    ),
                    anonymous=bool(entry.get("anonymous", False)),
                )
                self.events[spec.name] = spec
                self.events_by_topic[spec.topic0] = spec

    def function(self, name: str, nargs: int | None = None) -> Mapping[str, Any]:
        candidates = self._functions.get(name, [])
        if nargs is not None:
            candidates = [f for f in candidates if len(f["inputs"]) == nargs]
        if len(candidates) != 1:
            raise KeyError(f"{name}/{nargs}: {len(candidates)} matching functions in the ABI")
        return candidates[0]

    def encode_call(self, name: str, *args: Any) -> str:
        fn = self.function(name, len(args))
        types = [canonical_type(p) for p in fn["inputs"]]
        return "0x" + (selector(signature(fn)) + abi_encode(types, list(args))).hex()

    def decode_result(self, name: str, data: str, nargs: int | None = None) -> Any:
        fn = self.function(name, nargs)
        types = [canonical_type(p) for p in fn["outputs"]]
        values = abi_decode(types, bytes.fromhex(data[2:]))
        out = [normalize(t, v) for t, v in zip(types, values, strict=True)]
        return out[0] if len(out) == 1 else tuple(out)

    def encode_constructor(self, bytecode: str, *args: Any) -> str:
        ctor = next((e for e in self.abi if e.get("type") == "constructor"), None)
        if ctor is None:
            return bytecode
        types = [canonical_type(p) for p in ctor["inputs"]]
        return bytecode + abi_encode(types, list(args)).hex()
