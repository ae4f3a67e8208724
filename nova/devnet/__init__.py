"""Devnet tooling: compile and deploy the NovaToken contracts, drive deterministic traffic, force
reorgs. Used by ``nova devnet ...``, the tests and the benchmarks."""

from pathlib import Path

DEFAULT_MANIFEST = Path(".nova") / "devnet-manifest.json"
