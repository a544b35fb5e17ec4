"""Optimizers: the registry (torch-free facts) and the factory that builds them."""
