"""Adapters of the block sync service: JSON-RPC chain client, newHeads subscription, SQL store,
event publisher, single-writer lock."""
