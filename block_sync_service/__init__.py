"""Block sync service: follows the chain, detects reorgs, persists chain data, publishes events."""
