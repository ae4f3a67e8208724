"""Use cases of the staking service: apply event batches and revert markers."""
