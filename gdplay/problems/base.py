"""What an objective is: a batched function of points, with the facts known about it.

Every objective is evaluated on a batch of points X of shape [B, D] and returns
B values, one per run, so that one run and a sweep of thousands share one path.
A `Layout` maps the flat coordinates back to the named variables of a config
(`x`, `y`, or a vector `w` of length n).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Layout:
    """Named variables laid out side by side in a flat vector of length `dim`.

    `sizes[i]` is None for a scalar variable and n for a vector variable of length n.
    """

    names: tuple[str, ...]
    sizes: tuple[int | None, ...]

    @property
    def dim(self) -> int:
        return sum(1 if n is None else n for n in self.sizes)

    def slices(self) -> list[tuple[str, int, int]]:
        out, start = [], 0
        for name, n in zip(self.names, self.sizes, strict=True):
            width = 1 if n is None else n
            out.append((name, start, start + width))
            start += width
        return out

    def shapes(self) -> dict[str, int | None]:
        return dict(zip(self.names, self.sizes, strict=True))

    def flatten(self, point: Mapping[str, Any]) -> list[float]:
        """{'x': 1.0, 'w': [1, 2]} -> [1.0, 1.0, 2.0] in layout order."""
        flat: list[float] = []
        for name, n in zip(self.names, self.sizes, strict=True):
            value = point[name]
            if n is None:
                flat.append(float(value))
            else:
                flat.extend(float(v) for v in value)
        return flat

    def unflatten(self, row: Sequence[float | None]) -> dict[str, Any]:
        """The inverse of flatten: a flat row back to named values (vectors as lists)."""
        out: dict[str, Any] = {}
        for (name, start, stop), n in zip(self.slices(), self.sizes, strict=True):
            out[name] = row[start] if n is None else list(row[start:stop])
        return out

    def labels(self) -> list[str]:
        """One label per coordinate: x, y, w[0], w[1], ..."""
        out: list[str] = []
        for name, n in zip(self.names, self.sizes, strict=True):
            out.extend([name] if n is None else [f"{name}[{i}]" for i in range(n)])
        return out

    @staticmethod
    def vector(name: str, n: int) -> Layout:
        return Layout((name,), (n,))


BatchFn = Callable[[Any], Any]  # tensor [B, D] -> tensor [B] (or [B, 1])


@dataclass(frozen=True)
class Objective:
    """A function to minimise, ready to evaluate on a batch of points.

    `fn` maps a tensor [B, D] to a tensor [B] or [B, 1] (the engine takes either; calling
    the objective always gives [B]). `minimizers` lists all known
    global minimisers as flat points and `f_min` the exact minimum value, when known.
    """

    name: str
    formula: str
    layout: Layout
    fn: BatchFn
    start: tuple[float, ...]
    minimizers: tuple[tuple[float, ...], ...] = ()
    f_min: float | None = None
    notes: tuple[str, ...] = ()
    kind: str = "formula"  # formula | builtin | python
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return self.layout.dim

    def __call__(self, points: Any) -> Any:
        """Values at points of shape [..., D] (or [D] for one point), shaped [...]."""
        single = points.dim() == 1
        batch = points.reshape(-1, self.dim) if not single else points.unsqueeze(0)
        values = self.fn(batch).reshape(-1)
        return values[0] if single else values.reshape(points.shape[:-1])
