"""Adapters of the staking service: SQL repository and read views."""
