"""Regression checks for CI: the suite of configs, baselines, JUnit XML and the pytest plugin."""
