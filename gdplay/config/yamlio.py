"""Read YAML safely, keeping the line of every key so errors can point at it.

PyYAML's safe loader follows YAML 1.1, which reads `1e-3` as a string; we add
the YAML 1.2 float pattern so that users get the number they meant. Duplicate
keys are errors (PyYAML silently keeps the last one). Alias expansion is bounded
so that a "billion laughs" document cannot exhaust memory.
"""

from __future__ import annotations

import os
import re
import stat
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
    where = Location(file=str(path))
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigError("no such file", where) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, expected a YAML file", where) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where) from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError("is a directory, expected a YAML file", where)
        if not stat.S_ISREG(mode):
            raise ConfigError("is not a regular file (a device, FIFO or socket); expected a YAML file", where)
        try:
            raw = handle.read(MAX_BYTES + 1)  # never more than the limit, whatever the file claims
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", where) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"file is larger than {MAX_BYTES} bytes", where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", where) from None
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
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        loader.flatten_mapping(node)  # resolves `<<` merge keys: merged pairs first, then the explicit ones
        out: dict[Any, Any] = {}
        written: set[Any] = set()  # keys written in this mapping itself (not merged in)
        for key_node, value_node in node.value:
            key = _scalar(loader, key_node, doc)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise ConfigError(
                    "mapping keys must be plain names",
                    Location(file=doc.file, line=key_node.start_mark.line + 1, column=key_node.start_mark.column + 1),
                )
            name = key if isinstance(key, str) else str(key)
            if id(key_node) not in explicit:
                if key in written:
                    continue  # YAML's merge rule: a key written in the mapping wins over a merged one
            elif key in written:
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
            else:
                written.add(key)
            child = (*path, name)
            doc.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _convert(loader, value_node, child, doc, counter)  # a later merge source or the key itself wins
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), doc, counter) for i, item in enumerate(node.value)]
    return _scalar(loader, node, doc)


MAX_INT_CHARS = 40  # an integer literal longer than this is no setting anyone meant (2**128 has 39 digits)
_INT_TAG = "tag:yaml.org,2002:int"
INVALID_UNICODE = re.compile("[\ud800-\udfff]")


def _scalar(loader: _Loader, node: yaml.Node, doc: Document) -> Any:
    """A scalar, bounded before it is built: an integer literal of at most MAX_INT_CHARS characters
    (YAML 1.1 reads `0x` + 4,000 digits and `1:59:59:...` sexagesimals as integers; building and
    printing those is quadratic), and text that is valid Unicode (a `"\udc80"` escape is not)."""
    where = Location(file=doc.file, line=node.start_mark.line + 1, column=node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG and len(node.value) > MAX_INT_CHARS:
        raise ConfigError(
            f"integer literal of {len(node.value):,} characters; at most {MAX_INT_CHARS} "
            f"(it begins {node.value[:12]!r})",
            where,
        )
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and INVALID_UNICODE.search(value):
        raise ConfigError("text holds an invalid Unicode character (a lone surrogate such as \\udc80)", where)
    return value
