"""gRPC handlers of the block sync service: translate proto <-> store rows, map errors."""
