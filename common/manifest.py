"""Reading the devnet manifest (chain id, contract addresses, deployment block)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ManifestError(ValueError):
    pass


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"NOVA_MANIFEST: cannot read {path}: {exc}") from exc
    return data


def contract_address(path: Path, name: str) -> str:
    data = read_manifest(path)
    try:
        return str(data["contracts"][name]["address"])
    except KeyError as exc:
        raise ManifestError(f"NOVA_MANIFEST: {path} has no address for {name}") from exc
