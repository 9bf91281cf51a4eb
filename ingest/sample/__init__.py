"""Synthetic sample events and the reference catalog they draw from."""
