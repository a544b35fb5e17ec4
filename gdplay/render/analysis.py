"""Rich renderables for `gdplay grad`, `gdplay hessian` and `gdplay explain`.

Builds tables; never prints. Every table states the formula behind its numbers. (Their JSON
documents are the results' own `to_dict`, in gdplay.analysis.)
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gdplay.analysis.derivatives import FD_TRUST, RTOL, STEPS, GradientCheck, HessianReport
from gdplay.analysis.explain import AGREE, Explanation
from gdplay.problems.base import Layout, Objective
from gdplay.render.report import fmt

VERDICT_STYLE = {"agree": "green", "disagree": "bold red", "inconclusive": "yellow", "not finite": "bold red"}
KIND_STYLE = {"minimum": "green", "maximum": "magenta", "saddle": "yellow", "degenerate": "cyan", "undefined": "red"}


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
}


def grad_renderable(name: str, objective: Objective, check: GradientCheck, note: str | None) -> RenderableType:
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
            fmt(check.finite_difference[i], 12),
            "—" if h is None else f"{h:.0e}",
            fmt(check.abs_error[i], 2),
            fmt(check.rel_error[i], 2),
            Text(check.verdicts[i], style=VERDICT_STYLE.get(check.verdicts[i], "")),
        )
    notes = _notes()
    _row(notes, "autograd", "torch.autograd.grad of f at the point, in float64")
    _row(
        notes,
        "central difference",
        f"[f(x + h·eᵢ) − f(x − h·eᵢ)] / 2h in float64; h tried from {STEPS[0]:.0e} down to {STEPS[-1]:.0e}, "
        "kept where the error estimate |D(h) − D(h/10)| + ε·|f|/h is smallest",
    )
    _row(notes, "agree when", f"|error| ≤ max({RTOL:g}·max(1, |∂f/∂xᵢ|), {FD_TRUST:g}·that error estimate)")
    passed = Text("passed", style="green") if check.gradcheck else Text(f"failed: {check.gradcheck_message}", "red")
    _row(notes, "gradcheck", Text.assemble("torch.autograd.gradcheck in float64: ", passed))
    overall = check.verdict
    _row(notes, "verdict", Text(GRAD_SUMMARY[overall], style=VERDICT_STYLE[overall]))
    if note:
        _row(notes, "float32", note)
    return Group(header, table, notes, Text(""))


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
    if p is not None and m.rate is not None and not p.degenerate:
        gap = abs(m.rate - p.rate)
        style = "green" if gap <= AGREE else "yellow"
        _row(facts, "difference", Text(f"{gap:.2g} (agreement means ≤ {AGREE:g})", style=style))
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
