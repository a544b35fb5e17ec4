"""The example notebook as a reader meets it: examples/autograd_lesson.ipynb executed in a real
Jupyter kernel, its numbers checked against their closed forms, its stored outputs against a fresh run.

The notebook walks the course notebook's story with the API (finite differences, partial
derivatives, autograd, the Hessian, hand-written SGD, SGD with momentum). Its last cell prints one
JSON line, the recap, with the numbers it computed; the tests read that line. The references here
are independent of gdplay: f'(x) = 6x + 2; ∇g = (x2², 2(x1 + 5)x2) and H = [[0, 2x2], [2x2, 2(x1 + 5)]]
for g = (x1 + 5)·x2²; x* = −1/3.

The kernel is ipykernel's own python3 kernel for the interpreter running pytest (sys.executable),
so a `python3` kernelspec installed elsewhere (~/.local/share/jupyter) cannot send the notebook to
another Python. It starts in the repository root, where the notebook's config paths resolve.
One execution (about 8 s, most of it the kernel starting and importing torch) serves every test.

`python tests/test_example_notebook.py` re-executes the notebook and rewrites its stored outputs
(after a change to the API or to what a result displays; then read the diff).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

try:
    import nbclient
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
except ImportError as exc:  # the dev extra brings them: pip install -e '.[dev]'
    pytest.skip(f"the example notebook needs nbclient and ipykernel (the dev extra): {exc}", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "autograd_lesson.ipynb"
CELL_TIMEOUT_S = 120  # per cell; the slowest (the first run, importing torch) takes a few seconds
X_STAR = -1.0 / 3.0
# The runs are float32: x lands within a few ulps of −1/3 (one ulp there is 3.0e-8).
X_TOL = 1e-6
REFRESH = "run `python tests/test_example_notebook.py` to re-execute it and store the new outputs"
# Stored and fresh outputs are compared to this many significant digits: a float32 run may land an ulp
# away on another CPU (a kernel built with FMA, say), which does not make the stored notebook stale.
DIGITS = 6
FLOAT = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def execute(nb: Any) -> Any:
    """Run every cell of `nb` (in place) in a fresh python3 kernel of this interpreter, cwd = the repository root."""
    try:
        import ipykernel  # noqa: F401  (the kernel itself; jupyter_client would only fail later, at start)
    except ImportError as exc:
        pytest.skip(f"the example notebook needs ipykernel (the dev extra): {exc}")
    # kernel_dirs=[]: only the native kernel, whose command is [sys.executable, -m, ipykernel_launcher, ...].
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT_S,
        record_timing=False,  # no timestamps in the cells' metadata: a refresh diffs only in what changed
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute(cleanup_kc=True)  # nbclient shuts down a kernel it did not start only when asked
    return nb


def code_cells(nb: Any) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def outputs(nb: Any) -> list[Any]:
    return [output for cell in code_cells(nb) for output in cell.outputs]


def stdout(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def recap(nb: Any) -> dict[str, Any]:
    """The JSON line the last cell prints."""
    lines = stdout(code_cells(nb)[-1]).strip().splitlines()
    assert lines, "the notebook's last cell printed nothing: it should print the recap as one JSON line"
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def rounded(value: Any) -> Any:
    """`value` (JSON data, or printed text) with every float to DIGITS significant digits."""
    if isinstance(value, str):
        return FLOAT.sub(lambda m: f"{float(m[0]):.{DIGITS}g}", value)
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}")
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def committed() -> Any:
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def executed(committed: Any) -> Any:
    """A fresh copy of the notebook, executed (a failing cell raises CellExecutionError here, with its traceback)."""
    return execute(copy.deepcopy(committed))


def test_every_cell_runs_without_errors_or_warnings(executed):
    assert code_cells(executed)
    errors = [o for o in outputs(executed) if o.output_type == "error"]
    assert not errors, errors
    stderr = [o.text for o in outputs(executed) if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"a cell wrote to stderr (a warning?): {stderr}"


def test_the_derivative_of_f_at_1_is_8(executed):
    numbers = recap(executed)["f_prime"]
    (x,) = numbers["at"]
    assert x == 1.0
    assert numbers["autograd"] == [pytest.approx(6 * x + 2, rel=1e-12)]
    assert numbers["central_difference"] == [pytest.approx(6 * x + 2, rel=1e-9)]
    # The step the notebook names is one of those gdplay.grad tries (1e-2 ... 1e-10).
    (h,) = numbers["step"]
    assert any(h == pytest.approx(10.0**-k, rel=1e-12) for k in range(2, 11)), h


def test_the_gradient_of_g_at_2_3_is_9_42(executed):
    numbers = recap(executed)["grad_g"]
    x1, x2 = numbers["at"]
    assert (x1, x2) == (2.0, 3.0)
    assert numbers["autograd"] == pytest.approx([x2**2, 2 * (x1 + 5) * x2], rel=1e-12)  # (9, 42)


def test_the_hessian_of_g_holds_the_number_0_where_the_course_got_none(executed):
    numbers = recap(executed)["hessian_g"]
    x1, x2 = numbers["at"]
    assert (x1, x2) == (2.0, 3.0)
    matrix = numbers["matrix"]
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for row in matrix for v in row), matrix
    assert matrix[0][0] == 0.0  # ∂²g/∂x1² = ∂(x2²)/∂x1: torch's None under allow_unused, 0 in gdplay
    closed_form = [[0.0, 2 * x2], [2 * x2, 2 * (x1 + 5)]]  # [[0, 6], [6, 14]]
    assert matrix == [pytest.approx(row, rel=1e-12) for row in closed_form]
    assert numbers["kind"] == "saddle"  # det H = −36 < 0


@pytest.mark.parametrize("run", ["sgd_x", "momentum_x", "callable_x"])
def test_each_descent_lands_on_minus_one_third(executed, run):
    assert recap(executed)[run] == pytest.approx(X_STAR, abs=X_TOL)


def test_the_callable_objective_runs_as_the_formula_does(executed):
    numbers = recap(executed)
    assert numbers["callable_path_equals_formula_path"] is True
    assert numbers["callable_x"] == numbers["sgd_x"]


def test_results_display_themselves(executed):
    """A cell ending in `runs` shows the HTML table (_repr_html_); `runs.plot()` draws a PNG inline."""
    shown = [o for o in outputs(executed) if o.output_type == "execute_result"]
    runs = [o for o in shown if o.data.get("text/plain", "").startswith("Runs([")]
    assert runs, "no cell ends with a Runs object"
    assert all("<pre" in o.data.get("text/html", "") for o in runs), "a Runs result showed no HTML"
    figures = [o for o in shown if "image/png" in o.data]
    assert figures, "runs.plot() drew no inline image"
    assert base64.b64decode(figures[0].data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    # without %matplotlib inline (the notebook has none): the Figure registers its PNG printer itself
    assert not any("%matplotlib" in c.source for c in executed.cells if c.cell_type == "code")
    # one output per displayed result: rich must not send a second, Jupyter-detected copy of itself
    for cell in executed.cells:
        if cell.cell_type == "code" and cell.source.strip().splitlines()[-1:] in (
            ["runs"],
            ["sgd"],
            ["grads"],
            ["grads_g"],
            ["hess"],
        ):
            assert len(cell.outputs) == 1, (cell.source, [o.output_type for o in cell.outputs])


def test_the_committed_outputs_are_those_of_a_fresh_run(committed, executed):
    """The stored notebook shows what it computes today: same recap, same printed text, cell for cell,
    numbers to DIGITS significant digits (rich displays are not compared: the run tables hold the wall time)."""
    unrun = [i for i, cell in enumerate(code_cells(committed)) if cell.execution_count is None]
    assert not unrun, f"code cells {unrun} of {NOTEBOOK.name} have no stored outputs: {REFRESH}"
    assert rounded(recap(committed)) == rounded(recap(executed)), f"the stored recap is stale: {REFRESH}"
    for i, (old, new) in enumerate(zip(code_cells(committed), code_cells(executed), strict=True)):
        assert rounded(stdout(old)) == rounded(stdout(new)), f"code cell {i} printed something else: {REFRESH}"
    kinds = {kind for output in outputs(committed) for kind in output.get("data", {})}
    assert {"text/html", "image/png"} <= kinds, f"the stored notebook lacks its tables or its plot: {REFRESH}"


def refresh() -> None:
    """Re-execute the notebook and store its outputs in place."""
    nb = execute(nbformat.read(NOTEBOOK, as_version=4))
    nbformat.validate(nb)
    nbformat.write(nb, NOTEBOOK)
    print(f"executed and wrote {NOTEBOOK.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    refresh()
