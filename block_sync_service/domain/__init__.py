"""Chain data as plain values and the pure rules of following a chain (reorgs, range sizing)."""
