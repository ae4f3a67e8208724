"""Devnet tooling: compile and deploy the NovaToken contracts, drive deterministic traffic, force
reorgs. Used by ``nova devnet ...``, the tests and the benchmarks."""
