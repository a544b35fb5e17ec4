"""An objective written as a formula in a config (`expr:`), batched over runs."""

from __future__ import annotations

from typing import Any

from gdplay.errors import FormulaError
from gdplay.problems.base import Layout, Objective
from gdplay.problems.formula import Formula, compile_formula, width_of


def formula_objective(name: str, formula: Formula, layout: Layout, start: list[float]) -> Objective:
    """Bind a parsed formula to its variables; the result maps [B, D] -> [B]."""
    width = width_of(formula, layout.shapes())
    if width != 1:
        raise FormulaError(f"formula gives a vector of length {width}, not a number; wrap it in sum(...)", formula.text)
    evaluate = compile_formula(formula, layout.shapes())
    slices = layout.slices()
    single = len(slices) == 1

    def fn(points: Any) -> Any:
        if single:  # one variable: no slicing on the hot path
            env = {slices[0][0]: points}
        else:
            env = {n: points[..., a:b] for n, a, b in slices}
        value = evaluate(env)
        if not hasattr(value, "shape"):  # a constant formula: same value at every point
            return points.sum(dim=-1, keepdim=True) * 0.0 + value
        return value  # [B, 1]: the engine sums it; Objective.__call__ squeezes for everyone else

    return Objective(
        name=name,
        formula=formula.text,
        layout=layout,
        fn=fn,
        start=tuple(start),
        kind="formula",
    )
