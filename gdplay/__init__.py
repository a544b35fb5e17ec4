"""gdplay: a command-line gradient-descent playground on PyTorch.

Importing this package is cheap on purpose: torch is imported only by the
modules that compute, so `gdplay --help` and `gdplay list` answer instantly.
"""

__version__ = "0.1.0"
