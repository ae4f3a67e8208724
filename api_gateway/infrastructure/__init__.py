"""gRPC clients of the gateway: one shared channel per downstream service."""
