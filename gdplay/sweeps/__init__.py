"""Sweeps: grids of settings run as one batch, and the grid reduced to a map of outcomes."""
