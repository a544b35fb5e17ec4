"""Start-up: what each command's path imports (checked by module, not by timing; the timings are in
benchmarks/bench.py). torch stays off the commands that do not compute; a run imports neither
torch._dynamo (torch.optim's first step would) nor torch.fx's symbolic shapes (autograd's
backward with explicit grad tensors would)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


HEAVY = ("torch", "matplotlib", "pydantic")


def _imported_by(args: list[str], cwd: Path) -> set[str]:
    """The heavy modules a whole `gdplay ARGS` process (as the console script runs it) imported."""
    code = (
        "import sys, atexit\n"
        f"heavy = {HEAVY!r}\n"
        "atexit.register(lambda: sys.__stderr__.write('MODULES ' + ' '.join(m for m in heavy if m in sys.modules)))\n"
        "from gdplay.cli.app import main\nmain(sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(done.stderr.rsplit("MODULES", 1)[1].split())


def test_import_gdplay_does_not_import_torch():
    assert (
        _modules_after("import sys, gdplay\nprint(' '.join(m for m in ('torch', 'pydantic') if m in sys.modules))")
        == set()
    )


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["--help"], set()),
        (["--version"], set()),
        (["init", "--help"], {"pydantic"}),
        (["run", "--help"], {"pydantic"}),
    ],
)
def test_help_does_not_import_torch(args, allowed, tmp_path):
    """(A command's --help goes through typer, which imports pydantic to parse the line.)"""
    assert _imported_by(args, tmp_path) <= allowed


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["list", "--json"],
        ["schema"],
        ["schema", "--output", "run"],
        ["init", "mine"],
        ["init", "mine", "--objective", "rosenbrock", "--optimizer", "adam"],
        ["init", "--optimizer", "lbfgs", "mine.yml"],
    ],
)
def test_commands_that_do_not_compute_import_neither_torch_nor_pydantic(args, tmp_path):
    """pydantic too: typer would import it to parse the line (gdplay.cli.fast takes these forms),
    and the config models are not needed to list, print the schema or write a starter."""
    assert _imported_by(args, tmp_path) == set()
    if args[0] == "init":
        assert list(tmp_path.iterdir()), "init wrote nothing"


def test_a_run_imports_neither_dynamo_nor_symbolic_shapes():
    """The notebook's manual_sgd run. (An sgd run still imports torch._dynamo: the config check
    builds a torch.optim.SGD to let torch validate the options, and torch.optim's constructor
    imports it.)"""
    code = (
        "import sys, gdplay\n"
        "assert gdplay.run('configs/quadratic.yaml')[0].status.value in ('converged', 'max_steps')\n"
        "print(' '.join(m for m in ('torch', 'torch._dynamo', 'torch.fx.experimental.symbolic_shapes') "
        "if m in sys.modules))\n"
    )
    assert _modules_after(code) == {"torch"}  # torch itself, and nothing of its compiler


TYPER_ONLY = (
    "import sys\nimport gdplay.cli.fast as fast\nfast.dispatch = lambda args: False\n"
    "from gdplay.cli.app import main\nmain(sys.argv[1:])\n"
)
FAST = "import sys\nfrom gdplay.cli.app import main\nmain(sys.argv[1:])\n"


def _timeless(text: str) -> str:
    """Wall-clock times replaced (as tests/test_docs.py does): the only part that may differ."""
    text = re.sub(r"(wall time\s+)\d+(\.\d+)? s", r"\1<t> s", text)
    text = re.sub(r"\d+(\.\d+)?(?= s\b)", "<t>", text) if " in " in text else text
    return re.sub(r'"(wall_time_s|wall_s|elapsed_s|seconds)": [0-9.e-]+', r'"\1": <t>', text)


def _both_ways(args: list[str], tmp_path: Path) -> list[tuple[int, str, str, dict[str, str]]]:
    """`gdplay ARGS` through gdplay.cli.fast and through typer alone, each in a fresh folder:
    (exit code, stdout, stderr, the files it left)."""
    out = []
    for name, code in (("fast", FAST), ("typer", TYPER_ONLY)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "taken.yaml").write_text("x: 1\n", encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=folder, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"},
        )  # fmt: skip
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}
        out.append((done.returncode, _timeless(done.stdout), done.stderr, files))
    return out


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["list"],
        ["list", "--json"],
        ["schema"],
        ["schema", "--output", "check"],
        ["schema", "--output", "nope"],
        ["schema", "--write", "mine.json"],
        ["init", "mine"],
        ["init", "--force", "mine.yml", "--optimizer", "adam", "--objective", "booth"],
        ["init", "taken"],
        ["init", "taken", "--force"],
        ["init", "-x"],
        ["init", "two words"],
        ["init", "mine", "--objective", "rosenbrok"],
        ["init", "mine", "--optimizer", "adamm"],
        ["init", "mine", "--optimizer", "sparseadam"],
        ["run", str(ROOT / "configs/quadratic.yaml")],
        ["run", str(ROOT / "configs/quadratic_momentum.yaml"), "--json", "--plain"],
        ["run", "missing.yaml"],
        ["run", "taken.yaml"],
        ["explain", str(ROOT / "configs/quadratic.yaml")],
    ],
)
def test_the_short_way_in_answers_as_typer_does(args, tmp_path):
    """gdplay.cli.fast's forms print, write and exit exactly as typer's parse of the same line."""
    fast, typer_only = _both_ways(args, tmp_path)
    assert fast == typer_only


@pytest.mark.parametrize(
    "args",
    [["list", "--jsn"], ["list", "extra"], ["init"], ["init", "a", "b"], ["init", "a", "--optimizer"],
     ["init", "a", "--optimizer=adam"], ["init", "a", "--force", "--force"], ["init", "--", "-a"],
     ["--version", "list"]],
)  # fmt: skip
def test_anything_but_a_plain_form_goes_to_typer(args):
    from gdplay.cli.fast import plan

    assert plan(args) is None


def _typer_values(args: list[str]) -> dict[str, object]:
    """The keyword arguments typer's own parser passes the command's function for `args`."""
    import functools

    import typer
    from typer.testing import CliRunner

    from gdplay.cli.commands import load_commands

    spec, seen = load_commands()[args[0]], {}
    app = typer.Typer(add_completion=False)

    @functools.wraps(spec.fn)
    def spy(**kwargs: object) -> None:
        seen.update(kwargs)

    app.command(spec.name)(spy)
    app.callback()(lambda: None)  # a group, so the command is named on the line as in gdplay
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return seen


@pytest.mark.parametrize(
    "line",
    [
        "list",
        "list --json",
        "schema",
        "schema --output run",
        "schema --write x.json",
        "init mine",
        "init --force mine.yml --optimizer adam --objective booth",
        "run configs/quadratic.yaml",
        "run configs/quadratic.yaml configs/quadratic_momentum.yaml --json --plain",
        "run --run heavy configs/momentum.yaml --allow-python --csv out.csv --json-file out.json",
        "explain configs/quadratic.yaml",
        "explain --modes configs/quadratic.yaml --json --run a --dtype float64",
        "grad configs/quadratic.yaml --h-sweep",
        "hessian configs/quadratic.yaml --json",
        "compare configs/quadratic.yaml --zoom --plot p.png",
        "check configs/regression/booth.yaml",
        "check a.yaml b.yaml --update --diff --format junit -k booth --junit j.xml",
        "show rosenbrock --json",
    ],
)
def test_the_short_way_in_passes_what_typer_passes(line):
    from gdplay.cli.fast import plan

    args = line.split()
    found = plan(args)
    assert found is not None, "not a plain form"
    assert found[1] == _typer_values(args)


@pytest.mark.parametrize("raised", ["abort", "eof"])
def test_an_abort_in_a_command_ends_as_typer_ends_it(raised, monkeypatch, capsys):
    # typer's standalone mode turns click.Abort and EOFError (a prompt's end of input) into
    # "Aborted!" on stderr and exit 1; the short way in must not turn them into a crash (exit 70)
    import click

    from gdplay.cli import fast

    def command() -> None:
        raise click.exceptions.Abort() if raised == "abort" else EOFError()

    monkeypatch.setattr(fast, "plan", lambda args: (command, {}))
    with pytest.raises(SystemExit) as ended:
        fast.dispatch(["list"])
    assert ended.value.code == 1
    assert capsys.readouterr().err.strip() == "Aborted!"
