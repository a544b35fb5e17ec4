"""Exact rational linear algebra for the quadratic built-in's facts (no torch, no rounding).

The quadratic f(x) = ½xᵀAx − bᵀx has its minimiser at the solution of Ax = b when A is
symmetric positive definite. Every float64 is a rational m·2ᵉ, so A and b scaled by a
common power of two are integer matrices; fraction-free (Bareiss) elimination on them
is exact. Its pivots are the leading principal minors of the scaled A, so positive
definiteness is decided exactly too (Sylvester's criterion). The answer, rounded once
to float64, is the correctly rounded minimiser.

Cost: O(d³) operations on integers whose size grows with d: instant for the matrices
people type into a config (d ≤ 20: milliseconds), about 0.4 s at d = 50 with arbitrary
53-bit entries. The k-th pivot has about k·B bits (B: the bits of the scaled entries, 53 plus
the spread of their exponents: up to 2,100 for 1e300 beside 5e-324), so the work is about
Σₖ (d − k)² · M(k·B) with M(m) ≈ (m/64)² word operations (CPython divides big integers in quadratic time). Before starting, that estimate is
compared with EXACT_BUDGET; above it the system is solved in float64 instead (Cholesky, which
decides positive definiteness too), and the answer says so (`exact=False`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class SpdSolution:
    """x = A⁻¹b exactly, or, when A is not positive definite, the first failing minor."""

    x: list[Fraction] | None
    failed_minor: int | None = None  # 1-based size of the first leading minor that is <= 0
    exact: bool = True  # False: solved in float64, the exact solve being over budget
    out_of_range: bool = False  # positive definite, but the minimiser lies beyond float64's range


EXACT_BUDGET = 2e7  # estimated word operations: about a second in CPython (d = 50, 53-bit entries: 9·10⁶)
FLOAT_MAX = Fraction(sys.float_info.max)


def exact_cost(n: int, bits: int) -> float:
    """The estimated word operations of the fraction-free elimination (see the module docstring)."""
    return sum((n - k) ** 2 * max(1.0, (k * bits / 64)) ** 2 for k in range(1, n + 1))


def solve_spd(a: Sequence[Sequence[float]], b: Sequence[float]) -> SpdSolution:
    """Solve Ax = b exactly for a symmetric A, checking that A is positive definite."""
    n = len(b)
    scale = 1
    for value in [v for row in a for v in row] + list(b):
        scale = max(scale, Fraction(value).denominator)  # all powers of two: the largest is their lcm
    rows = [[int(Fraction(v) * scale) for v in row] + [int(Fraction(bv) * scale)] for row, bv in zip(a, b, strict=True)]
    bits = max((abs(v).bit_length() for row in rows for v in row), default=1)
    if exact_cost(n, bits) > EXACT_BUDGET:
        return _solve_float(a, b)
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
    return _in_range([Fraction(v, det) for v in y])


def _in_range(x: list[Fraction], exact: bool = True) -> SpdSolution:
    """The solution, unless a coordinate (or f* = −½bᵀx, which is at most of size |b|·|x|) lies
    beyond float64 ({A: [[5e-324]], b: [1]} has x* = 2¹⁰⁷⁴)."""
    if any(abs(v) > FLOAT_MAX for v in x):
        return SpdSolution(None, exact=exact, out_of_range=True)
    return SpdSolution(x, exact=exact)


def _solve_float(a: Sequence[Sequence[float]], b: Sequence[float]) -> SpdSolution:
    """Ax = b in float64 by Cholesky (A = LLᵀ exists exactly when A is positive definite)."""
    import torch

    matrix = torch.tensor([list(row) for row in a], dtype=torch.float64)
    factor, info = torch.linalg.cholesky_ex(matrix)
    if int(info) > 0:
        return SpdSolution(None, int(info), exact=False)
    x = torch.cholesky_solve(torch.tensor(list(b), dtype=torch.float64).unsqueeze(-1), factor).squeeze(-1)
    if not bool(torch.isfinite(x).all()):
        return SpdSolution(None, exact=False, out_of_range=True)
    return _in_range([Fraction(v) for v in x.tolist()], exact=False)


def dot(u: Sequence[Fraction | float], v: Sequence[Fraction | float]) -> Fraction:
    """uᵀv in exact arithmetic."""
    return sum((Fraction(p) * Fraction(q) for p, q in zip(u, v, strict=True)), Fraction(0))
