"""Shared plumbing: settings, logging, metrics, database, and the bus/cache/archive ports."""
