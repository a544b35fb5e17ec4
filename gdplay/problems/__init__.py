"""Objectives: formulas, built-ins and Python functions, each with the facts known about it."""
