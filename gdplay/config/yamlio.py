"""Read YAML safely, keeping the line of every key so errors can point at it.

PyYAML's safe loader follows YAML 1.1, which reads `1e-3` as a string; we add
the YAML 1.2 float pattern so that users get the number they meant. Duplicate
keys are errors (PyYAML silently keeps the last one). Alias expansion is bounded
so that a "billion laughs" document cannot exhaust memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gdplay.errors import ConfigError, Location

MAX_NODES = 100_000  # far beyond any real config, small enough to answer instantly
MAX_BYTES = 1_000_000

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose floats follow YAML 1.2 (`1e-3`, `1.0e+3` are numbers)."""


_FLOAT_12 = re.compile(
    r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in list("-+.0123456789"):
    resolvers = _Loader.yaml_implicit_resolvers.setdefault(_first, [])
    # Integers must still win over floats, so add the float rule after the int rule.
    resolvers[:] = [r for r in resolvers if r[0] != "tag:yaml.org,2002:float"]
    resolvers.append(("tag:yaml.org,2002:float", _FLOAT_12))


@dataclass
class Document:
    """A loaded YAML document: plain Python data plus where each key path was written."""

    data: Any
    file: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def location(self, path: Path_) -> Location:
        """The location of `path`, or of its nearest written ancestor."""
        probe = tuple(path)
        while probe and probe not in self.positions:
            probe = probe[:-1]
        line, col = self.positions.get(probe, (None, None))
        return Location(file=self.file, line=line, column=col, key=dotted(path) or None)


def dotted(path: Path_) -> str:
    """('runs', 1, 'optimizer', 'lr') -> 'runs[1].optimizer.lr'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_text(text: str, file: str = "<string>") -> Document:
    """Parse YAML text into a Document; every failure is a ConfigError naming file and line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError(f"file is larger than {MAX_BYTES} bytes", Location(file=file))
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            doc = Document(data=None, file=file)
            if node is not None:
                counter = [0]
                doc.data = _convert(loader, node, (), doc, counter)
            return doc
        finally:
            loader.dispose()
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", Location(file=file, line=line, column=col)) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise ConfigError(f"invalid YAML: {exc}", Location(file=file)) from None


def load_file(path: str | Path) -> Document:
    """Read and parse a YAML file; unreadable files are a ConfigError too."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file", Location(file=str(path))) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, expected a YAML file", Location(file=str(path))) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", Location(file=str(path))) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", Location(file=str(path))) from None
    return load_text(text, str(path))


def _convert(loader: _Loader, node: yaml.Node, path: Path_, doc: Document, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise ConfigError(
            f"document expands to more than {MAX_NODES} values (aliases?)",
            Location(file=doc.file, line=node.start_mark.line + 1),
        )
    if len(path) > 50:
        raise ConfigError("nesting is deeper than 50 levels", Location(file=doc.file, line=node.start_mark.line + 1))
    doc.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<` merge keys
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise ConfigError(
                    "mapping keys must be plain names",
                    Location(file=doc.file, line=key_node.start_mark.line + 1, column=key_node.start_mark.column + 1),
                )
            name = key if isinstance(key, str) else str(key)
            if key in out:
                first = doc.positions.get((*path, name))
                first_line = f" (first at line {first[0]})" if first else ""
                raise ConfigError(
                    f"duplicate key '{key}'{first_line}",
                    Location(
                        file=doc.file,
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                        key=dotted((*path, str(key))),
                    ),
                )
            child = (*path, name)
            doc.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(loader, value_node, child, doc, counter)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), doc, counter) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
