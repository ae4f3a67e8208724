"""Staking service: stakes, unstakes, reward claims and totals from NovaStaking events."""
