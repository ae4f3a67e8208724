"""Adapters of the token service: SQL repository and read views."""
