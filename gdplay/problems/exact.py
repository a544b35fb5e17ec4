"""Exact rational linear algebra for the quadratic built-in's facts (no torch, no rounding).

The quadratic f(x) = ½xᵀAx − bᵀx has its minimiser at the solution of Ax = b when A is
symmetric positive definite. Every float64 is a rational m·2ᵉ, so A and b scaled by a
common power of two are integer matrices; fraction-free (Bareiss) elimination on them
is exact. Its pivots are the leading principal minors of the scaled A, so positive
definiteness is decided exactly too (Sylvester's criterion). The answer, rounded once
to float64, is the correctly rounded minimiser.

Cost: O(d³) operations on integers whose size grows with d: instant for the matrices
people type into a config (d ≤ 20: milliseconds), about 0.4 s at d = 50 with arbitrary
53-bit entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class SpdSolution:
    """x = A⁻¹b exactly, or, when A is not positive definite, the first failing minor."""

    x: list[Fraction] | None
    failed_minor: int | None = None  # 1-based size of the first leading minor that is <= 0


def solve_spd(a: Sequence[Sequence[float]], b: Sequence[float]) -> SpdSolution:
    """Solve Ax = b exactly for a symmetric A, checking that A is positive definite."""
    n = len(b)
    scale = 1
    for value in [v for row in a for v in row] + list(b):
        scale = max(scale, Fraction(value).denominator)  # all powers of two: the largest is their lcm
    rows = [[int(Fraction(v) * scale) for v in row] + [int(Fraction(bv) * scale)] for row, bv in zip(a, b, strict=True)]
    previous = 1
    for k in range(n):
        pivot = rows[k][k]  # = the k+1-th leading principal minor of the scaled A (Bareiss)
        if pivot <= 0:
            return SpdSolution(None, k + 1)
        row_k = rows[k]
        for i in range(k + 1, n):
            row_i = rows[i]
            m = row_i[k]
            for j in range(k + 1, n + 1):
                row_i[j] = (row_i[j] * pivot - m * row_k[j]) // previous  # exact division
            row_i[k] = 0
        previous = pivot
    det = previous
    # y = det·x is an integer vector (Cramer's rule), so back-substitution stays in integers.
    y = [0] * n
    for i in range(n - 1, -1, -1):
        total = det * rows[i][n] - sum(rows[i][j] * y[j] for j in range(i + 1, n))
        y[i] = total // rows[i][i]
    return SpdSolution([Fraction(v, det) for v in y])


def dot(u: Sequence[Fraction | float], v: Sequence[Fraction | float]) -> Fraction:
    """uᵀv in exact arithmetic."""
    return sum((Fraction(p) * Fraction(q) for p, q in zip(u, v, strict=True)), Fraction(0))
