"""The layers, checked by walking every import in gdplay/ (the module map of docs/architecture.md).

Layers import only downward; typer only in cli/; rich and matplotlib only in render/ and cli/;
every package says its job in a one-line docstring.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gdplay"

# Bottom to top. A module may import its own layer and the layers below it, never above.
LAYERS = [
    ("errors", "suggest", "files"),
    ("config",),
    ("problems",),
    ("optim",),
    ("results",),
    ("engine",),
    ("pipeline",),
    ("analysis",),
    ("sweeps",),
    ("ci",),
    ("teach",),
    ("render",),
    ("api",),
    ("cli", "__main__"),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
ONLY_IN = {"typer": ("cli",), "rich": ("render", "cli"), "matplotlib": ("render", "cli")}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def layer_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, inside functions too, except under
    `if TYPE_CHECKING:` (annotations only: nothing is imported at run time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "gdplay":  # `from gdplay import __version__` and the like
                found += [(node.lineno, f"gdplay.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_the_layer_table_names_every_package_and_module():
    tops = {layer_of(p) for p in modules() if p.name != "__init__.py" or p.parent != PACKAGE}
    assert tops - set(RANK) == set(), "a new top-level package or module: give it a layer here and in the docs"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_only_downward(path):
    if path == PACKAGE / "__init__.py":
        return  # the public face: re-exports the API lazily by name (checked below)
    layer = layer_of(path)
    wrong = []
    for line, module in imports(path):
        parts = module.split(".")
        if parts[0] != "gdplay" or len(parts) < 2 or parts[1] == "__version__":
            continue
        target = parts[1]
        if RANK[target] > RANK[layer]:
            wrong.append(f"{path.name}:{line} ({layer}) imports {module} ({target} is above)")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_typer_rich_and_matplotlib_stay_in_their_layers(path):
    layer = layer_of(path)
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in imports(path)
        if module.split(".")[0] in ONLY_IN and layer not in ONLY_IN[module.split(".")[0]]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_walker_sees_imports_inside_functions(tmp_path):
    # The checks above would pass vacuously if the walker missed lazy imports.
    sample = tmp_path / "m.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rich\n"
        "def f():\n    import typer\n    from gdplay.render.report import fmt\n",
        encoding="utf-8",
    )
    assert imports(sample) == [(1, "typing"), (5, "typer"), (6, "gdplay.render.report")]


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.rglob("__init__.py")), ids=lambda p: p.name)
def test_every_package_says_its_job_in_one_line(package):
    name = ".".join(package.relative_to(ROOT).parts)
    doc = importlib.import_module(name).__doc__ or ""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    assert first.endswith(".") and len(first) <= 130, f"{name}: {first!r}"


def test_the_public_names_resolve_to_the_layers_they_name():
    import gdplay

    for name in gdplay.__all__:
        value = getattr(gdplay, name)
        assert value is not None
    assert gdplay.run.__module__ == "gdplay.api"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gdplay.nope  # noqa: B018
