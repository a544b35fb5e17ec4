"""Rich renderables for `gdplay grad`, `gdplay hessian` and `gdplay explain`.

Builds tables; never prints. Every table states the formula behind its numbers. (Their JSON
documents are the results' own `to_dict`, in gdplay.analysis.)
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gdplay.analysis.derivatives import FD_TRUST, KINK_STEPS, RTOL, STEPS, GradientCheck, HessianReport, HSweep
from gdplay.analysis.explain import Explanation
from gdplay.problems.base import Layout, Objective
from gdplay.render.report import fmt

VERDICT_STYLE = {
    "agree": "green",
    "disagree": "bold red",
    "inconclusive": "yellow",
    "not finite": "bold red",
    "not differentiable": "bold red",
}
KIND_STYLE = {
    "minimum": "green",
    "maximum": "magenta",
    "saddle": "yellow",
    "degenerate": "cyan",
    "undefined": "red",
    "not differentiable": "bold red",
}


def _row(table: Table, *cells: Any) -> None:
    """Add a row, strings as plain Text: formulas and points hold brackets (w[0]) that are not markup."""
    table.add_row(*[Text(c) if isinstance(c, str) else c for c in cells])


def _notes() -> Table:
    notes = Table.grid(padding=(0, 2))
    notes.add_column(style="bold")
    notes.add_column()
    return notes


def _header(name: str, objective: Objective, line: str) -> Text:
    text = Text(f"{name}: {objective.formula}", style="bold")
    text.append(f"\n{line}", style="")
    return text


def point_text(layout: Layout, point: list[float]) -> str:
    return ", ".join(f"{k}={fmt(v, 6)}" for k, v in layout.unflatten(point).items())


# ---- grad ---------------------------------------------------------------------------------------


GRAD_SUMMARY = {
    "agree": "autograd and central differences agree on every coordinate",
    "disagree": "autograd and central differences DISAGREE: a derivative is wrong, or f is not smooth here",
    "inconclusive": "no contradiction, but the central differences are unstable here (f is not smooth at "
    "this point, or badly scaled)",
    "not finite": "a derivative is not finite at this point (f is not differentiable here)",
    "not differentiable": "f is NOT DIFFERENTIABLE here: its one-sided slopes disagree (a kink), so there is "
    "no gradient for autograd or a central difference to find; their agreement would mean nothing",
}


def grad_renderable(
    name: str, objective: Objective, check: GradientCheck, note: str | None, sweep: HSweep | None = None
) -> RenderableType:
    header = _header(name, objective, f"∇f at {point_text(objective.layout, check.point)}   (f = {fmt(check.value)})")
    table = Table()
    for title, justify in [
        ("variable", "left"),
        ("autograd", "right"),
        ("central difference", "right"),
        ("step h", "right"),
        ("|error|", "right"),
        ("rel. error", "right"),
        ("verdict", "left"),
    ]:
        table.add_column(title, justify=justify)  # type: ignore[arg-type]
    for i, label in enumerate(check.labels):
        h = check.step[i]
        _row(
            table,
            f"∂f/∂{label}",
            fmt(check.autograd[i], 12),
            repr(check.finite_difference[i]) if check.fixed_step else fmt(check.finite_difference[i], 12),
            "—" if h is None else (f"{h:g}" if check.fixed_step else f"{h:.0e}"),
            fmt(check.abs_error[i], 2),
            fmt(check.rel_error[i], 2),
            Text(check.verdicts[i], style=VERDICT_STYLE.get(check.verdicts[i], "")),
        )
    notes = _notes()
    _row(notes, "autograd", "torch.autograd.grad of f at the point, in float64")
    if check.fixed_step:
        _row(
            notes,
            "central difference",
            "(f(x + h·eᵢ) − f(x − h·eᵢ)) / (2·h) in float64 at the step given, as the notebook writes it "
            "(float64 tensors: the same IEEE-754 double arithmetic as Python floats); "
            "its error estimate is |D(h) − D(h/10)| + ε·|f|/h",
        )
    else:
        _row(
            notes,
            "central difference",
            f"[f(x + h·eᵢ) − f(x − h·eᵢ)] / 2h in float64; h tried from {STEPS[0]:.0e} down to {STEPS[-1]:.0e}, "
            "kept where the error estimate |D(h) − D(h/10)| + ε·|f|/h is smallest",
        )
    _row(notes, "agree when", f"|error| ≤ max({RTOL:g}·max(1, |∂f/∂xᵢ|), {FD_TRUST:g}·that error estimate)")
    passed = Text("passed", style="green") if check.gradcheck else Text(f"failed: {check.gradcheck_message}", "red")
    _row(notes, "gradcheck", Text.assemble("torch.autograd.gradcheck in float64: ", passed))
    for label, verdict, (plus, minus) in zip(check.labels, check.verdicts, check.one_sided, strict=True):
        if verdict == "not differentiable":
            _row(
                notes,
                "kink",
                f"along {label}: one-sided slopes [f(x + h) − f(x)]/h = {fmt(plus, 10)} and "
                f"[f(x) − f(x − h)]/h = {fmt(minus, 10)} at h = {KINK_STEPS[1]:g}; their gap does not shrink "
                f"from h = {KINK_STEPS[0]:g}, as it would for a smooth f",
            )
    overall = check.verdict
    _row(notes, "verdict", Text(GRAD_SUMMARY[overall], style=VERDICT_STYLE[overall]))
    if note:
        _row(notes, "float32", note)
    parts: list[RenderableType] = [header, table, notes]
    if sweep is not None:
        parts.append(h_sweep_table(sweep))
    parts.append(Text(""))
    return Group(*parts)


def h_sweep_table(sweep: HSweep) -> RenderableType:
    """The notebook's experiment: D(h) for h = 1e-1 … 1e-12 in float64 and float32, error, dominant term."""
    several = len(sweep.labels) > 1
    table = Table(title="central difference D(h) = (f(x + h) − f(x − h)) / 2h against autograd", title_justify="left")
    table.add_column("h", justify="right")
    if several:
        table.add_column("variable")
    for dtype in ("float64", "float32"):
        table.add_column(f"D(h) {dtype}", justify="right")
        table.add_column(f"|error| {dtype}", justify="right")
        table.add_column("dominant", justify="left")
    by_h: dict[float, dict[str, Any]] = {}
    for row in sweep.rows:
        by_h.setdefault(row.h, {})[row.dtype] = row
    for h, rows in by_h.items():
        for i, label in enumerate(sweep.labels):
            cells: list[Any] = [f"{h:.0e}" if i == 0 else ""]
            if several:
                cells.append(label)
            for dtype in ("float64", "float32"):
                r = rows[dtype]
                cells += [repr(r.value[i]) if dtype == "float64" else fmt(r.value[i], 9), fmt(r.error[i], 2)]
                cells.append(r.dominant[i])
            _row(table, *cells)
    notes = _notes()
    _row(
        notes,
        "error terms",
        "truncation h²·|∂³f/∂xᵢ³|/6 (shrinks like h²) + rounding ε·(|f(x + h)| + |f(x − h)|)/2h (grows like 1/h); "
        "ε = 2.2e-16 in float64, 1.2e-7 in float32",
    )
    _row(
        notes,
        "∂³f/∂xᵢ³",
        ", ".join(f"{label}: {fmt(t, 6)}" for label, t in zip(sweep.labels, sweep.third, strict=True)),
    )
    if all(t == 0 for t in sweep.third):
        _row(
            notes,
            "note",
            "∂³f/∂xᵢ³ = 0 here (f is at most quadratic along each axis): the central difference has no truncation "
            "error, only rounding; try sin or exp to see the h² phase",
        )
    return Group(table, notes)


# ---- hessian ------------------------------------------------------------------------------------


def hessian_renderable(name: str, objective: Objective, report: HessianReport) -> RenderableType:
    labels = report.labels
    where = point_text(objective.layout, report.point)
    header = _header(name, objective, f"Hessian Hᵢⱼ = ∂²f/∂xᵢ∂xⱼ at {where}   (f = {fmt(report.value)})")
    table = Table()
    table.add_column("", style="bold")
    for label in labels:
        table.add_column(label, justify="right")
    for label, row in zip(labels, report.matrix, strict=True):
        _row(table, label, *[fmt(v, 10) for v in row])
    notes = _notes()
    _row(
        notes,
        "how",
        "autograd in float64: ∇f built with create_graph=True, then each ∂f/∂xᵢ differentiated again; "
        "an entry that does not depend on xⱼ is 0",
    )
    _row(notes, "gradient", "∇f = (" + ", ".join(fmt(v, 8) for v in report.gradient) + ")")
    if report.kind == "undefined":
        _row(notes, "kind", Text("undefined: the Hessian is not finite here", style="red"))
    elif report.kind == "not differentiable":
        _row(
            notes,
            "kind",
            Text(
                "not differentiable: one-sided slopes disagree here (" + "; ".join(report.kinks) + "), so f has "
                "no Hessian at this point and autograd's numbers above are not its second derivatives",
                style=KIND_STYLE[report.kind],
            ),
        )
    else:
        _row(notes, "eigenvalues", "λ of (H + Hᵀ)/2: " + ", ".join(fmt(v, 8) for v in report.eigenvalues))
        _row(
            notes,
            "kind",
            Text.assemble(
                Text(report.kind, style=KIND_STYLE[report.kind]),
                f"   (all λ > 0 minimum, all λ < 0 maximum, both signs saddle, else degenerate; "
                f"|λ| ≤ {report.zero_tolerance:.2g} counts as 0)",
            ),
        )
        _row(notes, "condition number", f"κ = max|λ| / min|λ| = {fmt(report.condition_number, 6)}")
        if any(g != 0 for g in report.gradient):
            _row(notes, "note", "∇f ≠ 0 here: not a critical point, so the kind describes the curvature only")
    return Group(header, table, notes, Text(""))


# ---- explain ------------------------------------------------------------------------------------


def explain_renderable(objective: Objective, e: Explanation) -> RenderableType:
    layout = objective.layout
    facts = Table(show_header=False)
    facts.add_column(style="bold")
    facts.add_column()
    r = e.result
    options = ", ".join(f"{k}={v}" for k, v in r.options.items())
    _row(facts, "optimizer", f"{r.optimizer} (lr={fmt(r.lr)}{', ' + options if options else ''}), {r.dtype}")
    _row(facts, "minimum x*", f"{point_text(layout, e.minimum.point)}   f* = {fmt(e.minimum.value)}")
    _row(facts, "", f"found by {e.minimum.source}, in float64")
    eig = e.hessian.eigenvalues
    _row(facts, "Hessian at x*", "eigenvalues λ = " + ", ".join(fmt(v, 8) for v in eig) if eig else "not finite")
    if eig:
        _row(
            facts, "", f"λmin = {fmt(min(eig), 8)}, λmax = {fmt(max(eig), 8)}, κ = {fmt(e.hessian.condition_number, 6)}"
        )
    p = e.prediction
    if p is not None:
        mu = "" if p.method.momentum == 0 else f", μ = {fmt(p.method.momentum)}"
        _row(facts, "method", f"{p.method.kind} (lr = {fmt(p.method.lr)}{mu})")
        _row(facts, "stability", p.stability_rule)
        _row(facts, "lr bound", fmt(p.lr_bound, 8))
        _row(facts, "rate", p.rate_rule)
        style = {True: "green", False: "bold red", None: "yellow"}[p.stable]
        rate = f"{p.rate:.6f} per step" + ("  (a flat direction: no geometric rate)" if p.degenerate else "")
        _row(facts, "predicted rate", Text(rate, style=style))
    else:
        _row(facts, "method", Text(f"not covered: {e.not_covered}", style="yellow"))
    _row(facts, "run", f"{r.status} ({r.reason})")
    m = e.measured
    if m.rate is not None:
        _row(
            facts,
            "measured rate",
            f"{m.rate:.6f} per step   (geometric mean of the ratios of {m.error} from step {m.first} to {m.last}: "
            "after the transient, crest to crest)",
        )
    else:
        _row(facts, "measured rate", f"— ({m.reason})")
    compared = e.comparison()
    if compared is not None:
        style = "green" if compared["agree"] else "yellow"
        _row(
            facts,
            "steps per decade",
            f"predicted {fmt(compared['predicted_steps_per_decade'], 6)}, measured "
            f"{fmt(compared['measured_steps_per_decade'], 6)}   (ln 10 / |ln r|: steps that shrink the error tenfold)",
        )
        _row(
            facts,
            "difference",
            Text(
                f"{compared['log_rate_error']:.2g} in log r, |ln m / ln p − 1| "
                f"(agreement means ≤ {compared['tolerance']:g}: the step counts within {compared['tolerance']:.0%})",
                style=style,
            ),
        )
    verdict = Text("verdict: ", style="bold")
    for i, sentence in enumerate(e.verdict):
        verdict.append(("" if i == 0 else "\n") + sentence, style="bold" if i == 0 else "")
    if e.noise_floor is not None:
        return Group(Text(f"{e.name}: {objective.formula}", style="bold"), facts, verdict, noise_floor(e.noise_floor))
    return Group(Text(f"{e.name}: {objective.formula}", style="bold"), facts, verdict, Text(""))


def noise_floor(nf: Any) -> RenderableType:
    """The noise-floor section of explain: the setting, the formula, predicted and measured, the verdict."""
    table = Table(show_header=False, title="noise floor", title_justify="left", title_style="bold")
    table.add_column(style="bold")
    table.add_column()
    _row(table, "noise", nf.setting)
    if nf.predicted is not None:
        _row(table, "rule", nf.rule)
        _row(table, "predicted", f"E‖x − x*‖² = {fmt(nf.predicted, 6)}")
    else:
        _row(table, "predicted", Text(f"— ({nf.why_not})", style="yellow"))
    m = nf.measured
    if m is not None:
        _row(
            table,
            "measured",
            f"{fmt(m.mean, 6)}  (95% interval {fmt(m.low, 6)} to {fmt(m.high, 6)}; "
            f"{m.samples} seeded runs batched at once, at step {nf.steps})",
        )
    style = {True: "green", False: "bold red", None: "yellow"}[nf.agree]
    text = Text("noise floor: ", style="bold")
    text.append(nf.sentences[0], style=style)
    for sentence in nf.sentences[1:]:
        text.append("\n" + sentence)
    return Group(table, text, Text(""))
