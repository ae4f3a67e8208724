"""gRPC handlers of the token service."""
