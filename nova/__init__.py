"""The ``nova`` command line and the process-level glue (local stack, devnet)."""
