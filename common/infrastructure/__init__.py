"""Real adapters of the ports in :mod:`common.ports`, named after their technology."""
