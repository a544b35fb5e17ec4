"""`gdplay list` and `gdplay show`, as a user sees them, and the README table of built-ins."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from gdplay.optim.registry import OPTIMIZERS
from gdplay.problems.docs import END, START, between_markers, builtins_markdown_table
from gdplay.problems.registry import load_builtins
from tests.conftest import ROOT

BUILTINS = load_builtins()


# ---- gdplay list -----------------------------------------------------------------------------


def test_list_shows_every_objective_and_optimizer(cli):
    result = cli("list")
    assert result.exit_code == 0, result.output
    for name in BUILTINS:
        assert name in result.stdout
    for name, info in OPTIMIZERS.items():
        assert name in result.stdout
        if not info.supported:
            assert "unsupported" in result.stdout
    assert "Σᵢ₌₁^{d−1} [b·(xᵢ₊₁ − xᵢ²)² + (a − xᵢ)²]" in result.stdout  # rich markup must not eat [b·...]


def test_list_json_is_the_registries(cli):
    result = cli("list", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [o["name"] for o in doc["objectives"]] == list(BUILTINS)
    assert [o["formula"] for o in doc["objectives"]] == [b.formula for b in BUILTINS.values()]
    assert {o["name"]: o["dimension"] for o in doc["objectives"]}["himmelblau"] == "2"
    assert [o["name"] for o in doc["optimizers"]] == list(OPTIMIZERS)
    for entry in doc["optimizers"]:
        info = OPTIMIZERS[entry["name"]]
        assert entry["rule"] == info.rule
        marked = not info.supported or not info.batchable or not info.lr_linear
        assert bool(entry["note"]) == marked and (not marked or info.why_not in entry["note"])


@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["--help"]])
def test_list_and_help_do_not_import_torch(args):
    code = (
        "import sys\n"
        "from gdplay.cli.app import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "sys.stdout.flush()\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("NO-TORCH"), done.stderr


# ---- gdplay show -----------------------------------------------------------------------------


def show_json(cli, *args):
    result = cli("show", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", list(BUILTINS))
def test_show_every_builtin(cli, name):
    entry = BUILTINS[name]
    facts = entry.facts()
    doc = show_json(cli, name)
    assert doc["name"] == name and doc["formula"] == entry.formula
    assert doc["f_min"] == facts.f_min
    assert [m["point"]["x"] for m in doc["minima"]] == facts.minimizers
    assert doc["notes"] == facts.notes and doc["start"] == {"x": entry.start(facts.dim)}
    for m in doc["minima"]:
        assert m["value"] == facts.f_min and abs(m["value_computed"] - facts.f_min) <= 1e-12
        if entry.differentiable_at_min:
            eig = m["eigenvalues"]
            assert eig == sorted(eig) and len(eig) == facts.dim
            if eig[0] > 0:
                assert m["condition_number"] == pytest.approx(eig[-1] / eig[0])
        else:
            assert m["eigenvalues"] is None and "not differentiable" in m["hessian_note"]
    text = cli("show", name)
    assert text.exit_code == 0
    assert entry.formula[:20] in text.stdout
    assert "minimum" in text.stdout


@pytest.mark.parametrize(
    ("name", "eigenvalues"),
    [
        ("booth", [2.0, 18.0]),  # Hessian [[10, 8], [8, 10]]: 10 ∓ 8
        ("matyas", [0.04, 1.0]),  # [[0.52, −0.48], [−0.48, 0.52]]: 0.52 ∓ 0.48
        ("sphere", [2.0, 2.0]),
        ("quadratic", [1.0, 10.0]),  # the default A = diag(1, 10)
        # Hessian [[802, −400], [−400, 200]] at (1, 1): eigenvalues 501 ∓ √(301² + 400²)
        ("rosenbrock", [501.0 - math.hypot(301.0, 400.0), 501.0 + math.hypot(301.0, 400.0)]),
    ],
)
def test_show_hessian_against_closed_forms(cli, name, eigenvalues):
    (m,) = show_json(cli, name)["minima"]
    assert m["eigenvalues"] == pytest.approx(eigenvalues, rel=1e-12)
    assert m["condition_number"] == pytest.approx(eigenvalues[1] / eigenvalues[0], rel=1e-12)


def test_show_eggholder_says_the_minimum_is_on_the_edge(cli):
    (m,) = show_json(cli, "eggholder")["minima"]
    x, y = m["point"]["x"]
    assert m["on_boundary"] and x == 512.0
    # ∂f/∂x by hand at (512, y): with u = x/2 + y + 47 > 0 and v = x − y − 47 > 0,
    # ∂f/∂x = −(y + 47)·cos√u/(4√u) − sin√v − x·cos√v/(2√v); ∂f/∂y = 0 there.
    u, v = x / 2 + y + 47, x - y - 47
    dfdx = -(y + 47) * math.cos(math.sqrt(u)) / (4 * math.sqrt(u)) - math.sin(math.sqrt(v))
    dfdx -= x * math.cos(math.sqrt(v)) / (2 * math.sqrt(v))
    assert m["grad_norm"] == pytest.approx(abs(dfdx), rel=1e-9)
    text = cli("show", "eggholder")
    assert "on the domain's edge" in text.stdout


def test_show_any_dimension(cli):
    doc = show_json(cli, "styblinski_tang", "--dim", "4")
    assert doc["dim"] == 4 and doc["minima"][0]["point"]["x"] == [-2.903534027771177] * 4
    assert doc["f_min"] == pytest.approx(-39.16616570377141 * 4, rel=1e-15)
    assert len(show_json(cli, "dixon_price", "--dim", "3")["minima"]) == 2


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["rosenbrok"], ["unknown objective 'rosenbrok'", "did you mean 'rosenbrock'"]),
        (["HIMMELBLAU", "--dim", "3"], ["--dim 3", "exactly 2"]),
        (["adam"], ["'adam' is an optimizer"]),
        (["quadratic", "--dim", "3"], ["set by its parameters"]),
    ],
)
def test_show_usage_errors_exit_2(cli, args, words):
    result = cli("show", *args)
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.output


def test_show_is_case_insensitive(cli):
    assert show_json(cli, "Himmelblau")["name"] == "himmelblau"


# ---- the README table ------------------------------------------------------------------------


def test_readme_table_matches_the_registry():
    """README.md between the builtins markers (or docs/README-builtins.md until the README has
    them) must equal builtins_markdown_table(). Regenerate with
    `python -m gdplay.problems.docs README.md docs/README-builtins.md`."""
    readme = ROOT / "README.md"
    source = readme if readme.exists() and START in readme.read_text(encoding="utf-8") else None
    source = source or ROOT / "docs" / "README-builtins.md"
    text = source.read_text(encoding="utf-8")
    assert START in text and END in text, f"{source.name} has no {START} … {END} block"
    assert between_markers(text) == builtins_markdown_table(), (
        f"{source} is out of date: run python -m gdplay.problems.docs {source.relative_to(ROOT)}"
    )


def test_markdown_table_lists_every_builtin_with_its_minima():
    table = builtins_markdown_table()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(BUILTINS)
    himmelblau = next(r for r in rows if r.startswith("| `himmelblau`"))
    for m in BUILTINS["himmelblau"].facts().minimizers:
        assert all(repr(v).removesuffix(".0") in himmelblau for v in m)  # every digit of every minimiser
    assert "-39.16616570377141·d" in table  # Styblinski–Tang's f* grows with d
    assert "\\|" in next(r for r in rows if r.startswith("| `bukin6`"))  # | escaped inside a cell
