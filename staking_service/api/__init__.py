"""gRPC handlers of the staking service."""
