"""The compiled contracts committed in deploy/contracts/artifacts (built by compile.js)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from common.abi import ContractABI
from nova.stack import REPO_ROOT, ensure_npm_packages

CONTRACTS_DIR = REPO_ROOT / "deploy" / "contracts"
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
NAMES = ("NovaToken", "NovaStaking", "NovaTimelock", "NovaGovernor", "TestERC1271Wallet")


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: ContractABI
    bytecode: str
    input_hash: str


@cache
def load(name: str, directory: Path = ARTIFACTS_DIR) -> Artifact:
    path = directory / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise FileNotFoundError(f"no artifact {path}: run `nova devnet compile`") from exc
    return Artifact(name, ContractABI(data["abi"]), data["bytecode"], data["inputHash"])


def compile_contracts(out_dir: Path = ARTIFACTS_DIR) -> str:
    """Run compile.js (solc-js) into ``out_dir``; returns the compiler's report."""
    ensure_npm_packages()
    proc = subprocess.run(
        ["node", str(CONTRACTS_DIR / "compile.js"), str(out_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"solc failed:\n{proc.stderr}")
    load.cache_clear()
    return proc.stderr
