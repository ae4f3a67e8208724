"""Staking rules as plain values and pure functions (standard library only)."""
