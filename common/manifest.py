"""Reading the devnet manifest (chain id, contract addresses, deployment block). Anything
missing or malformed is a ManifestError naming the file and what is wrong."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ManifestError(ValueError):
    pass


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"NOVA_MANIFEST: cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"NOVA_MANIFEST: {path} is not a JSON object")
    return data


def address_in(data: Mapping[str, Any], path: Path, name: str) -> str:
    """The address of contract ``name`` in a read manifest."""
    try:
        return str(data["contracts"][name]["address"])
    except (KeyError, TypeError) as exc:
        raise ManifestError(f"NOVA_MANIFEST: {path} has no address for {name}") from exc


def contract_address(path: Path, name: str) -> str:
    return address_in(read_manifest(path), path, name)


def integer_in(data: Mapping[str, Any], path: Path, *keys: str) -> int | None:
    """The integer at ``keys`` (e.g. "params", "reward_rate") in a read manifest; None if it
    is absent."""
    value: Any = data
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ManifestError(f"NOVA_MANIFEST: {path}: {'.'.join(keys)} is not an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise ManifestError(
            f"NOVA_MANIFEST: {path}: {'.'.join(keys)} is not an integer: {value!r}"
        ) from exc
