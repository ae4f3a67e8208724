"""API gateway: FastAPI REST over the services' gRPC APIs."""
