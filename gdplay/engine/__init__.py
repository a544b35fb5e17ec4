"""The engine: from a run config to a problem, and the batched gradient-descent loop over it."""
