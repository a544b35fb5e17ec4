"""The manual as a reader meets it: the site builds strictly, and every console example prints
today what the page says it prints.

A console example is a fenced block marked ```console in README.md or docs/*.md. In it, a line
`$ gdplay ARGS` is a command; the lines after it, up to the next `$ ` line, are its expected
output (stdout and stderr together, as a terminal shows them). A line `$ echo $?` right after a
command's output states its exit code; a command without one must exit 0. Any other `$ ` line is
an error: commands the tests do not run belong in a ```sh block.

Each command runs as `python -m gdplay ARGS` from the repository root, in a terminal 100 columns
wide without colour (COLUMNS=100, NO_COLOR=1, TERM=dumb). Before comparing, both sides are
normalised by these rules and no others:

- trailing spaces of every line and trailing blank lines are dropped (rich pads its lines);
- a wall-clock time is replaced by `<t> s`: on a line with "wall time", every `N s` (with the
  spaces before it, so that the column width does not matter); elsewhere ` in N s` (the closing
  line of `gdplay sweep` and `gdplay check`: "52 runs × 200 steps in 0.01 s on cpu").

The page keeps the real numbers (a reader sees `wall time      0.006 s`); only the comparison
ignores them. `python tests/test_docs.py [PAGE...]` rewrites the examples' outputs and exit codes
with what gdplay prints now (then read the diff: a changed number may be a regression).
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COLUMNS = 100
TIMEOUT_S = 120  # per command; each takes a few seconds, most of it importing torch
MODULES_IN_THE_MAP = ("errors.py", "suggest.py", "files.py", "pipeline.py")  # besides the packages

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
WALL_TIME = re.compile(r"\s*\d+(?:\.\d+)? s\b")
ELAPSED = re.compile(r" in \d+(?:\.\d+)? s\b")


@dataclass(frozen=True)
class Example:
    page: str  # relative to the repository root
    line: int  # 1-based line of the `$ gdplay` line
    source: str  # that line as written
    args: tuple[str, ...]  # after `gdplay`
    expected: str
    exit_code: int

    @property
    def command(self) -> str:
        return shlex.join(("gdplay", *self.args))

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: $ {self.command}"


@dataclass(frozen=True)
class Block:
    start: int  # 0-based index of the opening fence
    end: int  # 0-based index of the closing fence
    indent: str
    body: list[str]  # the lines in between, without the fence's indentation


def normalise(text: str) -> str:
    lines = []
    for line in text.splitlines():
        line = line.rstrip()
        if "wall time" in line:
            line = WALL_TIME.sub(" <t> s", line)
        else:
            line = ELAPSED.sub(" in <t> s", line)
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def console_blocks(text: str) -> list[Block]:
    """Every ```console block of a page."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        if info.split()[:1] == ["console"]:
            blocks.append(Block(i, j, indent, body))
        i = j + 1
    return blocks


def parse_block(page: str, block: Block) -> list[Example]:
    examples: list[Example] = []
    body, first_line = block.body, block.start + 2
    pending: tuple[int, str, tuple[str, ...], list[str]] | None = None
    exit_code_of_pending: int | None = None

    def flush() -> None:
        nonlocal pending, exit_code_of_pending
        if pending is not None:
            line, source, args, out = pending
            code = 0 if exit_code_of_pending is None else exit_code_of_pending
            examples.append(Example(page, line, source, args, "\n".join(out), code))
        pending, exit_code_of_pending = None, None

    k = 0
    while k < len(body):
        text, line = body[k], first_line + k
        if text.startswith("$ gdplay ") or text.rstrip() == "$ gdplay":
            flush()
            args = tuple(shlex.split(text[len("$ gdplay") :]))
            out: list[str] = []
            k += 1
            while k < len(body) and not body[k].startswith("$ "):
                out.append(body[k])
                k += 1
            pending = (line, text, args, out)
            continue
        if text.strip() == "$ echo $?":
            if pending is None or exit_code_of_pending is not None:
                raise AssertionError(f"{page}:{line}: `$ echo $?` must follow a `$ gdplay` command's output")
            value = body[k + 1].strip() if k + 1 < len(body) else ""
            if not value.isdigit() or (k + 2 < len(body) and not body[k + 2].startswith("$ ")):
                raise AssertionError(f"{page}:{line}: `$ echo $?` must be followed by one line, the exit code")
            exit_code_of_pending = int(value)
            k += 2
            continue
        if text.startswith("$ "):
            raise AssertionError(
                f"{page}:{line}: {text!r} is not a gdplay command; the tests run every ```console "
                "example, so put commands they cannot run in a ```sh block"
            )
        if k == 0 and text.strip():
            raise AssertionError(f"{page}:{line}: a ```console block starts with a `$ gdplay` command")
        k += 1
    flush()
    return examples


def collect() -> tuple[list[Example], list[str]]:
    """The examples of every page, and what is wrong with blocks that cannot be read (reported
    by a test, so that one bad block does not stop the collection of the whole suite)."""
    examples: list[Example] = []
    errors: list[str] = []
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        for block in console_blocks(path.read_text(encoding="utf-8")):
            try:
                examples.extend(parse_block(page, block))
            except AssertionError as error:
                errors.append(str(error))
    return examples, errors


EXAMPLES, BLOCK_ERRORS = collect()


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS", "LINES"}}
    env.update(COLUMNS=str(COLUMNS), NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    return env


def run_gdplay(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gdplay", *args],
        cwd=ROOT,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, in the order a terminal shows them
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT_S,
        check=False,
    )


def run_all(commands: list[tuple[str, ...]]) -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    """Each distinct command once, several at a time (each spends most of its time importing torch)."""
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(commands, pool.map(run_gdplay, commands), strict=True))


def mismatch(example: Example, result: subprocess.CompletedProcess[str]) -> str | None:
    """What is wrong with an example's output and exit code, or None."""
    problems = []
    got, want = normalise(result.stdout), normalise(example.expected)
    if got != want:
        diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "the page", "gdplay now", lineterm="", n=1)
        problems.append("the output differs (after normalising):\n" + "\n".join(diff))
    if result.returncode != example.exit_code:
        hint = "" if example.exit_code else " (a command that does not exit 0 needs `$ echo $?` after its output)"
        problems.append(f"exit code {result.returncode}, the page says {example.exit_code}{hint}")
    if "Traceback" in result.stdout:
        problems.append("it printed a traceback")
    return f"{example}: " + "; ".join(problems) if problems else None


# ---- the examples ----------------------------------------------------------------------------


def test_console_blocks_are_well_formed():
    assert not BLOCK_ERRORS, "\n".join(BLOCK_ERRORS)


def test_the_pages_have_console_examples():
    pages = {example.page for example in EXAMPLES}
    assert "README.md" in pages
    assert len(EXAMPLES) >= 10, [str(e) for e in EXAMPLES]
    main = [e for e in EXAMPLES if e.page == "README.md" and e.args == ("run", "configs/quadratic.yaml")]
    assert main, "README.md shows `gdplay run configs/quadratic.yaml` with its output"


def test_console_examples_print_what_the_pages_say():
    """One test for all examples, so that pytest-xdist does not run the commands once per worker;
    the message lists every example that differs."""
    results = run_all(list(dict.fromkeys(example.args for example in EXAMPLES)))
    failures = [m for example in EXAMPLES if (m := mismatch(example, results[example.args]))]
    assert not failures, (
        f"{len(failures)} of {len(EXAMPLES)} console examples differ from what gdplay prints "
        f"(COLUMNS={COLUMNS} NO_COLOR=1 TERM=dumb); if the change is intended, refresh them with "
        "`.venv/bin/python tests/test_docs.py PAGE` and read the diff:\n\n" + "\n\n".join(failures)
    )


def test_normalisation_is_narrow():
    page = "wall time      0.006 s\n52 runs × 200 steps in 0.01 s on cpu\n1 passed, 0 failed in 2.32 s   \n\n"
    assert normalise(page) == "wall time <t> s\n52 runs × 200 steps in <t> s on cpu\n1 passed, 0 failed in <t> s"
    table = "│ wall time    │       0.272 s │      10.058 s │"
    assert normalise(table) == "│ wall time    │ <t> s │ <t> s │"
    for kept in ("lr bound       │ 0.33333333", "steps          100", "f(x)           -1.333333254", "dim: 3 s"):
        assert normalise(kept) == kept


def test_the_parser_reads_commands_outputs_and_exit_codes():
    def block(*lines: str) -> Block:
        return Block(8, 9 + len(lines), "", list(lines))

    first, second = parse_block(
        "p.md", block("$ gdplay show nope", "error: unknown objective", "$ echo $?", "2", "$ gdplay list --json", "{}")
    )
    assert (first.args, first.exit_code, first.line) == (("show", "nope"), 2, 10)
    assert first.expected == "error: unknown objective"
    assert (second.args, second.expected, second.exit_code) == (("list", "--json"), "{}", 0)
    with pytest.raises(AssertionError, match="not a gdplay command"):
        parse_block("p.md", block("$ make run"))
    with pytest.raises(AssertionError, match="must follow"):
        parse_block("p.md", block("$ echo $?", "0"))
    blocks = console_blocks("text\n- item\n\n  ```console\n  $ gdplay list\n  out\n  ```\n```sh\n$ make run\n```\n")
    assert blocks == [Block(3, 6, "  ", ["$ gdplay list", "out"])]


def test_a_mismatch_names_the_example_the_lines_and_the_exit_code():
    example = Example("docs/p.md", 7, "$ gdplay run c.yaml", ("run", "c.yaml"), "steps 100\nwall time  0.1 s", 0)
    same = subprocess.CompletedProcess([], 0, "steps 100   \nwall time  2.5 s\n\n")
    assert mismatch(example, same) is None
    other = subprocess.CompletedProcess([], 4, "steps 99\nwall time  0.1 s\n")
    message = mismatch(example, other)
    assert message is not None and message.startswith("docs/p.md:7: $ gdplay run c.yaml: ")
    assert "-steps 100\n+steps 99" in message and "exit code 4, the page says 0" in message


# ---- links and the site ----------------------------------------------------------------------


def test_readme_links_point_at_files_that_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    assert local, "README.md links to the manual"
    missing = [t for t in local if t and not (ROOT / t).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_architecture_lists_every_package_with_its_docstring():
    """docs/architecture.md's module map quotes each package's docstring (first line), so a new
    package or a changed job shows up there."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = [*sorted((ROOT / "gdplay").glob("*/__init__.py")), *(ROOT / "gdplay" / n for n in MODULES_IN_THE_MAP)]
    for path in modules:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        name = f"gdplay/{path.parent.name}/" if path.name == "__init__.py" else f"gdplay/{path.name}"
        assert f"`{name}`" in text, f"docs/architecture.md does not list {name}"
        assert doc.splitlines()[0] in text, (
            f"docs/architecture.md does not quote {name}'s docstring: {doc.splitlines()[0]!r}"
        )


def test_site_builds_strictly(tmp_path):
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs-material is not installed (it is in the dev extra: pip install -e '.[dev]')")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    pages = {p.relative_to(ROOT / "docs").with_suffix("").as_posix() for p in (ROOT / "docs").glob("*.md")}
    pages.discard("README-builtins")
    built = {p.parent.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("index.html")}
    missing = {p for p in pages if (p == "index" and "." not in built) or (p != "index" and p not in built)}
    assert not missing, f"pages not built: {missing}"
    objectives = (tmp_path / "objectives" / "index.html").read_text(encoding="utf-8")
    assert "himmelblau" in objectives and "builtins:start" in objectives, "the built-in table is included"


# ---- refreshing the pages ----------------------------------------------------------------------


def update(paths: list[Path]) -> None:
    """Rewrite each console example's output (and its `$ echo $?`) with what gdplay prints now."""
    for path in paths:
        page = path.relative_to(ROOT).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        for block in reversed(console_blocks("\n".join(lines))):  # from the end: indices stay valid
            body: list[str] = []
            for example in parse_block(page, block):
                result = run_gdplay(example.args)
                out = [line.rstrip() for line in result.stdout.splitlines()]
                while out and not out[-1]:
                    out.pop()
                body += [example.source, *out]
                if result.returncode:
                    body += ["$ echo $?", str(result.returncode)]
            lines[block.start + 1 : block.end] = [block.indent + line if line else line for line in body]
            print(f"{page}:{block.start + 1}: {len(body)} lines")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    # python tests/test_docs.py [PAGE...]: refresh the examples (all pages when none are named).
    update([Path(arg).resolve() for arg in sys.argv[1:]] or PAGES)
