"""Use cases of the token service: apply event batches and revert markers."""
