"""Formulas: parsed from a whitelist into an expression tree, then compiled to torch ops.

A formula such as `3*x**2 + 2*x - 1` is read with `ast.parse` (which parses and
never runs anything), and every node is checked against a whitelist before it
becomes one of our own nodes: numbers, declared variables, `+ - * / **`, unary
minus, parentheses, a few named math functions, the constants pi and e, `sum(...)`
and constant indexing `x[0]`. Nothing else gets through; `eval`, `exec` and
`compile` are never called on user text.

Values are tensors of shape [B, k]: B runs evaluated at once (a batch), k = 1 for
a scalar, k = n for a vector variable of length n. Scalars broadcast against
vectors; two vectors must have the same length (checked when the formula is
bound to its variables, before anything runs).
"""

from __future__ import annotations

import ast
import difflib
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gdplay.errors import FormulaError
from gdplay.suggest import did_you_mean

MAX_LENGTH = 2000  # characters; longer input is rejected before parsing
MAX_DEPTH = 60  # nesting of the expression tree
MAX_NODES = 2000

# name -> (torch function name, how it reads in a docstring). Only these may be called.
FUNCTIONS: dict[str, str] = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "abs": "abs",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}
REDUCTIONS = {"sum"}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
RESERVED = set(FUNCTIONS) | REDUCTIONS | set(CONSTANTS)

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_FORBIDDEN_HINTS = {
    ast.Attribute: "attribute access",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "starred arguments",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


# ---- the expression tree ---------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Var:
    name: str
    column: int


@dataclass(frozen=True)
class Index:
    name: str
    index: int
    column: int


@dataclass(frozen=True)
class Neg:
    operand: Expr


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Expr
    right: Expr
    column: int


@dataclass(frozen=True)
class Call:
    func: str
    arg: Expr
    column: int


Expr = Num | Var | Index | Neg | BinOp | Call


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its source text and validated expression tree."""

    text: str
    tree: Expr

    @property
    def variables(self) -> set[str]:
        """Names of the variables the formula uses."""
        return _names(self.tree)


def _names(node: Expr) -> set[str]:
    if isinstance(node, Var | Index):
        return {node.name}
    if isinstance(node, Neg):
        return _names(node.operand)
    if isinstance(node, BinOp):
        return _names(node.left) | _names(node.right)
    if isinstance(node, Call):
        return _names(node.arg)
    return set()


# ---- parsing ---------------------------------------------------------------------------


# Names from other notations, with what this whitelist calls them.
ALIASES: dict[str, str] = {"ln": "log", "arctan": "atan", "power": "a ** b", "pow": "a ** b", "fabs": "abs"}
# A number written against a name or a bracket, as in 3x or 2(x + 1): mathematicians' implicit product.
_IMPLICIT = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?![\d.]|[eE][+-]?\d)(?=[A-Za-z_(])")


def _implicit_product(text: str) -> str | None:
    """'3*x' for a formula with 3x in it (not 1e-3, whose e is the exponent), else None."""
    for match in _IMPLICIT.finditer(text):
        number, rest = match.group(1), text[match.end() :]
        name = re.match(r"[A-Za-z_]\w*|\(", rest)
        if name is None:
            continue
        return f"{number}*{name.group(0)}" + ("…)" if name.group(0) == "(" else "")
    return None


def _as_power(text: str, node: ast.BinOp) -> str:
    """The source of `a ^ b` with its `^` written as `**` (brackets kept: `(x + 1)^3` → `(x + 1)**3`)."""
    start, end = node.col_offset, node.end_col_offset or len(text)
    between = node.left.end_col_offset or start, node.right.col_offset
    gap = text[between[0] : between[1]].replace("^", "**", 1)
    return text[start : between[0]] + gap + text[between[1] : end]


def _unknown_function(name: str) -> str:
    """ "unknown function 'ln'; did you mean 'log'?" with every close match from the whitelist."""
    allowed = sorted(set(FUNCTIONS) | REDUCTIONS)
    if name in ALIASES:
        target = ALIASES[name]
        hint = f"did you mean '{target}'?" if target in allowed else f"write it as '{target}';"
        return f"unknown function {name!r}; {hint} valid: {', '.join(allowed)}"
    close = difflib.get_close_matches(name.lower(), allowed, n=4, cutoff=0.5)
    if close:
        options = " or ".join(f"'{c}'" for c in close)
        return f"unknown function {name!r}; did you mean {options}? valid: {', '.join(allowed)}"
    return f"unknown function {name!r}; valid: {', '.join(allowed)}"


def parse(text: Any) -> Formula:
    """Parse formula text into a Formula, or raise FormulaError pointing at the column."""
    if not isinstance(text, str):
        raise FormulaError(f"expected a formula as text, got {type(text).__name__}", str(text))
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is longer than {MAX_LENGTH} characters", text)
    if not text.strip():
        raise FormulaError("formula is empty", text)
    for i, ch in enumerate(text):
        # Python folds look-alike letters (NFKC: 'ｘ' -> 'x'), so only ASCII is accepted.
        if ord(ch) > 127 or (not ch.isprintable() and ch not in " \t"):
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            raise FormulaError(f"character {ch!r} ({name}) is not allowed; formulas are ASCII", text, i + 1)
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if depth > MAX_DEPTH:
            raise FormulaError(f"nesting is deeper than {MAX_DEPTH} levels", text, i + 1)
    try:
        module = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        column = exc.offset if exc.offset else None
        product = _implicit_product(text)
        if product is not None:
            raise FormulaError(
                f"a number next to a name is not a product here; did you mean '{product}'?", text, column
            ) from None
        raise FormulaError(f"syntax error: {exc.msg}", text, column) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise FormulaError(f"cannot parse: {exc}", text) from None
    offset = len(text) - len(text.lstrip())
    counter = [0]
    tree = _build(module.body, text, offset, counter, 0)
    return Formula(text=text, tree=_fold(tree))


def _column(node: ast.AST, offset: int) -> int:
    return getattr(node, "col_offset", 0) + offset + 1  # ASCII only, so bytes == characters


def _build(node: ast.AST, text: str, offset: int, counter: list[int], depth: int) -> Expr:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise FormulaError(f"formula has more than {MAX_NODES} parts", text)
    if depth > MAX_DEPTH:
        raise FormulaError(f"nesting is deeper than {MAX_DEPTH} levels", text, _column(node, offset))
    col = _column(node, offset)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "strings" if isinstance(value, str | bytes) else f"{type(value).__name__} constants"
            raise FormulaError(f"{kind} are not allowed", text, col)
        try:
            return Num(float(value))
        except OverflowError:
            return Num(math.inf)
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise FormulaError(f"name {node.id!r} is not allowed", text, col)
        if node.id in CONSTANTS:
            return Num(CONSTANTS[node.id])
        if node.id in FUNCTIONS or node.id in REDUCTIONS:
            raise FormulaError(f"function {node.id!r} must be called, as {node.id}(...)", text, col)
        return Var(node.id, col)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return Neg(_build(node.operand, text, offset, counter, depth + 1))
        if isinstance(node.op, ast.UAdd):
            return _build(node.operand, text, offset, counter, depth + 1)
        raise FormulaError(f"operator {type(node.op).__name__} is not allowed", text, col)
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if isinstance(node.op, ast.BitXor):
            raise FormulaError(f"'^' is not a power here; did you mean '{_as_power(text.strip(), node)}'?", text, col)
        if op is None:
            raise FormulaError(f"operator {type(node.op).__name__} is not allowed (use + - * / **)", text, col)
        left = _build(node.left, text, offset, counter, depth + 1)
        right = _build(node.right, text, offset, counter, depth + 1)
        return BinOp(op, left, right, col)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Constant) and isinstance(node.func.value, int | float):
            inner = ast.get_source_segment(text.strip(), node.args[0]) if len(node.args) == 1 else "…"
            number = ast.get_source_segment(text.strip(), node.func)
            raise FormulaError(
                f"a number before a bracket is not a product here; did you mean '{number}*({inner})'?", text, col
            )
        if not isinstance(node.func, ast.Name):
            raise FormulaError("only named functions may be called", text, col)
        name = node.func.id
        if name not in FUNCTIONS and name not in REDUCTIONS:
            raise FormulaError(_unknown_function(name), text, col)
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise FormulaError(f"{name}() takes exactly one argument", text, col)
        return Call(name, _build(node.args[0], text, offset, counter, depth + 1), col)
    if isinstance(node, ast.Subscript):
        if not isinstance(node.value, ast.Name):
            raise FormulaError("only a variable can be indexed, as x[0]", text, col)
        index = node.slice
        sign = 1
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
            sign, index = -1, index.operand
        if not (isinstance(index, ast.Constant) and type(index.value) is int):
            raise FormulaError("an index must be a whole number, as x[0]", text, _column(node.slice, offset))
        return Index(node.value.id, sign * index.value, col)
    what = _FORBIDDEN_HINTS.get(type(node), type(node).__name__)
    raise FormulaError(f"{what} is not allowed in a formula", text, col)


def _const_op(op: str, a: float, b: float) -> float:
    """Constant arithmetic that never raises: overflow is inf, invalid is nan (like torch)."""
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b if b != 0 else (math.copysign(math.inf, a) if a != 0 else math.nan)
        return math.pow(a, b)
    except OverflowError:
        return math.inf
    except (ValueError, ZeroDivisionError):
        return math.nan


def _fold(node: Expr) -> Expr:
    """Fold constant sub-expressions (in floats, so `9**9**9` is inf, not a huge integer)."""
    if isinstance(node, Neg):
        inner = _fold(node.operand)
        return Num(-inner.value) if isinstance(inner, Num) else Neg(inner)
    if isinstance(node, BinOp):
        left, right = _fold(node.left), _fold(node.right)
        if isinstance(left, Num) and isinstance(right, Num):
            return Num(_const_op(node.op, left.value, right.value))
        return BinOp(node.op, left, right, node.column)
    if isinstance(node, Call):
        return Call(node.func, _fold(node.arg), node.column)
    return node


# ---- binding to variables and compiling to torch ----------------------------------------

Evaluator = Callable[[Mapping[str, Any]], Any]


def width_of(formula: Formula, shapes: Mapping[str, int | None]) -> int:
    """Check names, indices and vector lengths; return the formula's result width."""
    return _width(formula.tree, formula.text, shapes)


def _width(node: Expr, text: str, shapes: Mapping[str, int | None]) -> int:
    if isinstance(node, Num):
        return 1
    if isinstance(node, Var | Index):
        if node.name not in shapes:
            hint = did_you_mean(node.name, shapes) if shapes else "no variables are declared in init"
            raise FormulaError(f"unknown variable {node.name!r}; {hint}", text, node.column)
        n = shapes[node.name]
        if isinstance(node, Index):
            if n is None:
                raise FormulaError(f"{node.name!r} is a scalar and cannot be indexed", text, node.column)
            if not -n <= node.index < n:
                raise FormulaError(
                    f"index {node.index} is out of range for {node.name!r} of length {n}", text, node.column
                )
            return 1
        return 1 if n is None else n
    if isinstance(node, Neg):
        return _width(node.operand, text, shapes)
    if isinstance(node, Call):
        inner = _width(node.arg, text, shapes)
        return 1 if node.func in REDUCTIONS else inner
    left = _width(node.left, text, shapes)
    right = _width(node.right, text, shapes)
    if left != right and 1 not in (left, right):
        raise FormulaError(f"vectors of lengths {left} and {right} cannot be combined", text, node.column)
    return max(left, right)


def compile_formula(formula: Formula, shapes: Mapping[str, int | None]) -> Evaluator:
    """A function env -> tensor [B, k] built from torch ops, after checking the names and shapes.

    `env` maps each variable to a tensor of shape [B, 1] (scalar) or [B, n] (vector).
    """
    width_of(formula, shapes)
    return _compile(formula.tree, shapes)


def _compile(node: Expr, shapes: Mapping[str, int | None]) -> Evaluator:
    import torch

    if isinstance(node, Num):
        value = node.value
        return lambda env: value
    if isinstance(node, Var):
        name = node.name
        return lambda env: env[name]
    if isinstance(node, Index):
        name = node.name
        i = node.index
        stop = i + 1 if i != -1 else None
        return lambda env: env[name][..., i:stop]
    if isinstance(node, Neg):
        inner = _compile(node.operand, shapes)
        return lambda env: -inner(env)
    if isinstance(node, Call):
        arg = _compile(node.arg, shapes)
        if node.func == "sum":
            return lambda env: _as_tensor(arg(env)).sum(dim=-1, keepdim=True)
        fn = getattr(torch, FUNCTIONS[node.func])
        return lambda env: fn(_as_tensor(arg(env)))
    left = _compile(node.left, shapes)
    right = _compile(node.right, shapes)
    # Numbers stay Python floats so torch takes its fast scalar path, as in the notebook.
    if isinstance(node.left, Num):
        a = node.left.value
        ops: dict[str, Evaluator] = {
            "+": lambda env: a + right(env),
            "-": lambda env: a - right(env),
            "*": lambda env: a * right(env),
            "/": lambda env: a / right(env),
            "**": lambda env: torch.pow(a, right(env)),
        }
        return ops[node.op]
    if isinstance(node.right, Num):
        b = node.right.value
        ops = {
            "+": lambda env: left(env) + b,
            "-": lambda env: left(env) - b,
            "*": lambda env: left(env) * b,
            "/": lambda env: left(env) / b,
            "**": lambda env: left(env) ** b,
        }
        return ops[node.op]
    ops = {
        "+": lambda env: left(env) + right(env),
        "-": lambda env: left(env) - right(env),
        "*": lambda env: left(env) * right(env),
        "/": lambda env: left(env) / right(env),
        "**": lambda env: left(env) ** right(env),
    }
    return ops[node.op]


def _as_tensor(value: Any) -> Any:
    import torch

    return value if isinstance(value, torch.Tensor) else torch.tensor(value)


def to_text(node: Expr) -> str:
    """Render a tree back to text (used in error messages and docs)."""
    if isinstance(node, Num):
        return repr(node.value)
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Index):
        return f"{node.name}[{node.index}]"
    if isinstance(node, Neg):
        return f"-({to_text(node.operand)})"
    if isinstance(node, Call):
        return f"{node.func}({to_text(node.arg)})"
    return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
