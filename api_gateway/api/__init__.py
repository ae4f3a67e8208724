"""HTTP layer of the gateway: routes, dependencies, error mapping."""
