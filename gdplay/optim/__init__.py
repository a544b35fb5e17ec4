"""Optimizers: the registry of update rules, the factory that builds them, learning-rate schedules."""
