"""User text in renderers (issue 17, class 4): rich markup, mathtext, terminal escapes.

A name, a formula comment or a file name is text wherever it is shown: `[/]` does not close a
rich style (nor crash), `w[i]` keeps its brackets, `$\\nope$` is not mathtext, and an ESC from a
config never reaches the terminal (it is shown as `\\x1b`).
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdplay.render.text import SafeConsole, mathtext, plain

HOSTILE = [
    "[/]",
    "[bold]loud",
    "w[i] and [x]",
    "[link=https://example.com]click[/link]",
    ":smile: :thumbs_up:",
    "$\\nope$",
    "${{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{$",
    "clear\x1b[2Jscreen",
    "title\x1b]0;pwned\x07",
    "bidi\u202eevil",
    "tab\there",
]
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def config_text(name: str, expect: bool = True, sweep: bool = False, runs: bool = False) -> str:
    quoted = json.dumps(name)  # a YAML double-quoted scalar: JSON's escapes are YAML's too
    body = (
        f"name: {quoted}\n"
        'objective: {expr: "(x - 1)**2 #[/] $x$", init: {x: 3.0}}\n'
        "optimizer: {name: sgd, lr: 0.25}\nsteps: 5\ndtype: float64\n"
    )
    if expect:
        body += "expect: {argmin: {x: 1.0}, atol: 0.1}\n"
    if sweep:
        body += "sweep: {lr: [0.1, 0.25]}\n"
    if runs:
        body = body.replace(f"name: {quoted}\n", "") + f"runs: [{{name: {quoted}}}, {{name: other}}]\n"
    return body


def shown(name: str) -> str:
    """The name as gdplay shows it: control characters as visible escapes."""
    return plain(name)


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("command", ["run", "check", "sweep", "compare"])
def test_a_hostile_name_is_shown_as_text_by_every_command(cli, write_config, command, name):
    path = write_config(config_text(name, sweep=command == "sweep", runs=command == "compare"))
    result = cli(command, path)
    assert result.exit_code == 0 if command != "check" else result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert not RAW_CONTROL.search(result.stdout.replace("\n", "").replace("\t", "")), repr(result.stdout[:400])
    if command != "sweep":  # the sweep's tables show settings, not the name
        assert shown(name).split("\t")[0][:12] in result.stdout


def test_brackets_in_a_name_are_kept_not_eaten(cli, write_config):
    result = cli("run", write_config(config_text("w[i] [x] [bold]b", expect=False)))
    assert result.exit_code == 0
    assert "w[i] [x] [bold]b" in result.stdout


def test_a_terminal_escape_in_a_name_is_shown_not_sent(cli, write_config):
    result = cli("run", write_config(config_text("a\x1b[2Jb\x1b]0;pwned\x07c", expect=False)))
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "a\\x1b[2Jb\\x1b]0;pwned" in result.stdout


def test_an_escape_in_an_error_message_is_shown_not_sent(cli, write_config):
    path = write_config('objective: {expr: "x\\e[2J", init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n')
    result = cli("run", path)
    assert result.exit_code == 3
    assert "\x1b" not in result.stderr


def test_plain_shows_control_characters_as_escapes():
    assert plain("a\x1bb\x07c\x9bd\u202ee") == "a\\x1bb\\x07c\\x9bd\\u202ee"
    assert plain("two\nlines\tand tab") == "two\nlines\tand tab"
    assert plain("two\nlines", newlines=False) == "two\\nlines"


def test_mathtext_escapes_dollars_so_matplotlib_draws_text():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    for name in HOSTILE:
        fig = Figure()
        fig.suptitle(mathtext(name))
        fig.legend([], [], title=mathtext(name))
        fig.canvas.draw()  # raised ValueError / RecursionError before


@pytest.mark.parametrize("name", ["$\\nope$", "${{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{$", "[/]", "a\x1bb"])
def test_plot_and_compare_plot_draw_a_hostile_name(cli, write_config, tmp_path, name):
    pytest.importorskip("matplotlib")
    path = write_config(config_text(name, expect=False))
    result = cli("plot", path, "-o", tmp_path / "p.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = cli("compare", path, "--plot", tmp_path / "c.svg")
    assert result.exit_code == 0, result.output


@given(name=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40))
def test_fuzz_any_text_printed_by_the_safe_console_has_no_raw_control_characters(name):
    from rich.table import Table

    console = SafeConsole(record=False, width=80, file=_Sink(), force_terminal=True, color_system="standard")
    table = Table(title=name)
    table.add_column(name)
    table.add_row(name)
    console.print(table, name, style="bold")
    written = console.file.text  # type: ignore[attr-defined]
    # rich's own SGR styles are ESC [ ... m; nothing else may be an escape
    without_styles = re.sub("\x1b\\[[0-9;]*m", "", written)
    assert not RAW_CONTROL.search(without_styles.replace("\n", "").replace("\t", ""))


class _Sink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True
