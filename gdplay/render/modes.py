"""The eigen-mode view of `gdplay explain --modes` as a rich table (builds it; never prints).

One row per eigenvalue λ of the Hessian at x*: the direction v, the factor per step the theory
predicts (|1 − lr·λ| for gradient descent; for heavy ball the larger root modulus of
z² − (1 + μ − lr·λ)z + μ), the factor measured on the run's error component v·(xₖ − x*), and
the mode's regime (gdplay.analysis.modes).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from gdplay.analysis.modes import CRITICAL, DIVERGENT, MONOTONE, OSCILLATING, STEADY, Mode
from gdplay.analysis.theory import GD, HEAVY_BALL, Method
from gdplay.render.report import fmt

REGIME_STYLE = {MONOTONE: "green", OSCILLATING: "yellow", CRITICAL: "cyan", DIVERGENT: "bold red", STEADY: "magenta"}


def factor_rule(method: Method | None) -> str:
    if method is None:
        return "no prediction: the theory does not cover this optimizer"
    if method.kind == GD:
        return "predicted factor per step |1 − lr·λ|"
    if method.kind == HEAVY_BALL:
        return "predicted factor per step: the larger |z| with z² − (1 + μ − lr·λ)z + μ = 0"
    return "predicted factor per step: the larger |z| with z² − (1 + μ)(1 − lr·λ)z + μ(1 − lr·λ) = 0"


def modes_renderable(name: str, labels: Sequence[str], modes: Sequence[Mode], method: Method | None) -> Table:
    """The table: mode, λ, v, predicted factor, measured factor (with its window), regime."""
    table = Table(title=f"{name}: the error along each eigenvector of the Hessian at x*", title_justify="left")
    for column in ("mode", "λ", "direction v", "predicted", "measured", "regime"):
        table.add_column(column, justify="right" if column in ("mode", "λ", "predicted", "measured") else "left")
    for k, mode in enumerate(modes, start=1):
        direction = ", ".join(f"{label}: {fmt(v, 3)}" for label, v in zip(labels, mode.vector, strict=True))
        measured = mode.measured
        shown = (
            f"{fmt(measured.rate, 4)} (steps {measured.first}–{measured.last})"
            if measured.rate is not None
            else f"— ({measured.reason})"
        )
        regime = Text(mode.regime or "—", style=REGIME_STYLE.get(mode.regime or "", ""))
        predicted = fmt(mode.predicted, 4) if mode.predicted is not None else "—"
        table.add_row(str(k), fmt(mode.eigenvalue, 6), Text(direction), predicted, Text(shown), regime)
    table.caption = factor_rule(method) + "; measured: the geometric mean of the component's ratios after the transient"
    table.caption_justify = "left"
    return table
