"""Token service: balances, transfers, approvals, supply and holders from NovaToken events."""
