"""The facts of every built-in objective, checked against independent references.

Every test is parametrised over the registry (plus a few non-default parameter sets),
so a new built-in is covered without editing a list here. The references are
independent of gdplay's code: hand-derived gradients and Hessians solved by Newton's
method in float64, mpmath at 40 digits, central finite differences, dense grids over
each domain, and torch.linalg.solve for the quadratic.
"""

from __future__ import annotations

import math
import zlib
from fractions import Fraction

import pytest
import torch

from gdplay.problems.registry import Builtin, ParamError, load_builtins

BUILTINS = load_builtins()

# Non-default parameters, to show the facts follow the parameters (not just the defaults).
PARAM_CASES: dict[str, list[dict]] = {
    "rosenbrock": [{"a": 2.0, "b": 50.0}],
    "rastrigin": [{"A": 3.0}],
    "ackley": [{"a": 10.0, "b": 0.5, "c": 3.0}],
    "quadratic": [
        {"A": [[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]], "b": [1.0, -2.0, 0.5]},
        {"A": [[2.0, -1.0], [-1.0, 2.0]], "b": [0.1, 0.3]},  # neither 0.1 nor 0.3 is a binary fraction
    ],
}


def dims_of(entry: Builtin, params: dict) -> list[int]:
    if entry.dim_from_params is not None:
        return [entry.dim_from_params(params)]
    if entry.dims is not None:
        return [entry.dims]
    return [d for d in (1, 2, 5) if entry.allows(d)]


def _cases() -> list:
    out = []
    for name, entry in BUILTINS.items():
        for given in [{}, *PARAM_CASES.get(name, [])]:
            params = entry.resolve_params(given)
            for d in dims_of(entry, params):
                label = f"{name}-d{d}" + ("-" + "-".join(f"{k}" for k in given) if given else "")
                out.append(pytest.param(name, d, params, id=label))
    return out


CASES = _cases()


def minimizers(name: str, d: int, params: dict) -> list[list[float]]:
    facts = BUILTINS[name].facts(d, params)
    if not facts.minimizers:
        pytest.skip(f"{name} at d={d} with {params}: no minimiser is known (the entry says so)")
    return facts.minimizers


def value(name: str, x: torch.Tensor, params: dict) -> torch.Tensor:
    return BUILTINS[name].fn(x, params)


def grad_at(name: str, point: list[float], params: dict) -> torch.Tensor:
    x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(value(name, x, params), x)
    return g


def free_coordinates(entry: Builtin, point: list[float]) -> list[int]:
    """Coordinates not pinned to an edge of the domain."""
    return [i for i, (v, (lo, hi)) in enumerate(zip(point, entry.bounds(len(point)), strict=True)) if lo < v < hi]


# ---- the registry itself -------------------------------------------------------------


def test_the_issue_lists_every_builtin():
    expected = {
        "sphere", "rosenbrock", "rastrigin", "ackley", "styblinski_tang", "dixon_price", "zakharov",
        "himmelblau", "booth", "beale", "matyas", "three_hump_camel", "six_hump_camel", "goldstein_price",
        "mccormick", "levi", "easom", "eggholder", "bukin6", "quadratic",
    }  # fmt: skip
    assert expected <= set(BUILTINS)


@pytest.mark.parametrize("name", list(BUILTINS))
def test_every_entry_carries_its_facts(name):
    entry = BUILTINS[name]
    facts = entry.facts()
    assert entry.formula.startswith("f(")
    assert entry.reference
    assert facts.minimizers, "with default parameters every built-in knows its minima"
    assert facts.f_min is not None and math.isfinite(facts.f_min)
    d = facts.dim
    start = entry.start(d)
    assert len(start) == d
    assert all(lo <= v <= hi for v, (lo, hi) in zip(start, entry.bounds(d), strict=True)), "start in the domain"
    for m in facts.minimizers:
        assert all(lo <= v <= hi for v, (lo, hi) in zip(m, entry.bounds(d), strict=True)), "minimiser in the domain"
        assert math.dist(start, m) > 1e-2, "the default start is not (almost) a minimiser"
    if not entry.differentiable_at_min:
        assert any("differentiable" in note for note in facts.notes)
    if entry.min_on_boundary:
        assert any("edge" in note for note in facts.notes)


def test_standard_literature_parameters():
    assert BUILTINS["rosenbrock"].params == {"a": 1.0, "b": 100.0}
    assert BUILTINS["rastrigin"].params == {"A": 10.0}
    assert BUILTINS["ackley"].params == {"a": 20.0, "b": 0.2, "c": 2 * math.pi}


# ---- values, gradients and curvature at the minimisers -----------------------------------


@pytest.mark.parametrize(("name", "d", "params"), CASES)
def test_value_at_every_minimizer_is_f_star(name, d, params):
    f_star = BUILTINS[name].facts(d, params).f_min
    for m in minimizers(name, d, params):
        assert f_star is not None
        got = value(name, torch.tensor(m, dtype=torch.float64), params).item()
        assert abs(got - f_star) <= 1e-12, (m, got, f_star)


@pytest.mark.parametrize(("name", "d", "params"), CASES)
def test_no_listed_minimizer_is_beaten_nearby(name, d, params):
    """Random points within 1e-3 and 1e-6 (inside the domain), and 300 steps of projected
    gradient descent started at the minimiser, never find a lower value."""
    entry = BUILTINS[name]
    f_star = entry.facts(d, params).f_min
    bounds = torch.tensor(entry.bounds(d), dtype=torch.float64)
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    for m in minimizers(name, d, params):
        center = torch.tensor(m, dtype=torch.float64)
        for radius in (1e-3, 1e-6):
            step = torch.randn(2000, d, generator=gen, dtype=torch.float64)
            step *= radius * torch.rand(2000, 1, generator=gen, dtype=torch.float64) / step.norm(dim=1, keepdim=True)
            near = torch.clamp(center + step, bounds[:, 0], bounds[:, 1])
            lowest = value(name, near, params).min().item()
            assert lowest >= f_star - 1e-12 * max(1.0, abs(f_star)), (m, radius, lowest - f_star)
        x = center.clone().requires_grad_(True)
        for _ in range(300):
            (g,) = torch.autograd.grad(value(name, x, params), x)
            with torch.no_grad():
                x -= 1e-4 * g
                x.copy_(torch.clamp(x, bounds[:, 0], bounds[:, 1]))
        assert value(name, x.detach(), params).item() >= f_star - 1e-12 * max(1.0, abs(f_star))


@pytest.mark.parametrize(("name", "d", "params"), CASES)
def test_gradient_vanishes_at_every_minimizer(name, d, params):
    entry = BUILTINS[name]
    if not entry.differentiable_at_min:
        pytest.skip(f"{name}: the entry says f is not differentiable at its minimum")
    for m in minimizers(name, d, params):
        g = grad_at(name, m, params)
        free = free_coordinates(entry, m)
        if free:
            assert g[free].abs().max().item() <= 1e-6, (m, g)
        # On an edge the gradient must point out of the domain (KKT): at the upper edge
        # ∂f/∂xᵢ <= 0 (f would fall further outside), at the lower edge >= 0.
        for i, (lo, hi) in enumerate(entry.bounds(d)):
            if m[i] == hi:
                assert entry.min_on_boundary and g[i].item() <= 0, (m, g)
            if m[i] == lo:
                assert entry.min_on_boundary and g[i].item() >= 0, (m, g)


@pytest.mark.parametrize(("name", "d", "params"), CASES)
def test_hessian_has_no_negative_eigenvalue_at_any_minimizer(name, d, params):
    """Tolerance: λ_min >= −1e-9·max(1, λ_max) (float64 autograd Hessians are accurate to ~1e-13)."""
    entry = BUILTINS[name]
    if not entry.differentiable_at_min:
        pytest.skip(f"{name}: not differentiable at its minimum, so it has no Hessian there")
    for m in minimizers(name, d, params):
        x = torch.tensor(m, dtype=torch.float64)
        h = torch.autograd.functional.hessian(lambda z: value(name, z, params), x)
        free = free_coordinates(entry, m)  # on an edge only the directions along it matter
        h = h[free][:, free]
        eig = torch.linalg.eigvalsh(h)
        assert eig.min().item() >= -1e-9 * max(1.0, eig.abs().max().item()), (m, eig)


# ---- gradients and batching away from the minima ------------------------------------------


def random_points(entry: Builtin, d: int, n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    b = torch.tensor(entry.bounds(d), dtype=torch.float64)
    return b[:, 0] + (b[:, 1] - b[:, 0]) * torch.rand(n, d, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize(("name", "d", "params"), CASES)
def test_autograd_gradient_matches_central_differences(name, d, params):
    """At 8 seeded random points of the domain: |g_autograd − g_fd| <= 1e-6·(1 + |g|∞),
    with g_fd = (f(x + heᵢ) − f(x − heᵢ))/2h, h = 1e-6·max(1, |xᵢ|), in float64."""
    entry = BUILTINS[name]
    points = random_points(entry, d, 8, zlib.crc32(f"fd-{name}-{d}".encode()))
    for x in points:
        g = grad_at(name, x.tolist(), params)
        fd = torch.empty(d, dtype=torch.float64)
        for i in range(d):
            h = 1e-6 * max(1.0, abs(x[i].item()))
            e = torch.zeros(d, dtype=torch.float64)
            e[i] = h
            fd[i] = (value(name, x + e, params) - value(name, x - e, params)) / (2 * h)
        scale = 1.0 + g.abs().max().item()
        assert (g - fd).abs().max().item() <= 1e-6 * scale, (x, g, fd)


@pytest.mark.parametrize(("name", "d", "params"), CASES)
def test_batched_evaluation_equals_point_by_point(name, d, params):
    entry = BUILTINS[name]
    points = random_points(entry, d, 12, zlib.crc32(f"batch-{name}".encode())).reshape(3, 4, d)
    batched = value(name, points, params)
    assert batched.shape == (3, 4)
    one_by_one = torch.stack([torch.stack([value(name, points[i, j], params) for j in range(4)]) for i in range(3)])
    assert one_by_one.shape == (3, 4)
    torch.testing.assert_close(batched, one_by_one, rtol=1e-15, atol=0.0)
    if entry.prepare is not None:  # the tensors a run prepares once give the same values as the lists
        prepared = entry.prepare(params, points)
        torch.testing.assert_close(entry.fn(points, prepared), batched, rtol=1e-15, atol=0.0)


# ---- global: no point of the domain is lower, and no global minimiser is missing ----------

GRID = 401  # points per axis


def _newton(name: str, x: torch.Tensor, params: dict, steps: int = 40) -> torch.Tensor:
    """Newton's method on ∇f = 0 from each row of x (autograd Hessian), float64."""
    for _ in range(steps):
        x = x.detach()
        rows = []
        for row in x:
            g = torch.autograd.functional.jacobian(lambda z: value(name, z, params), row)
            h = torch.autograd.functional.hessian(lambda z: value(name, z, params), row)
            try:
                rows.append(row - torch.linalg.solve(h, g))
            except RuntimeError:  # singular Hessian: leave this candidate where it is
                rows.append(row)
        x = torch.stack(rows)
    return x


@pytest.mark.parametrize(("name", "d", "params"), [c for c in CASES if c.values[1] == 2])
def test_dense_grid_finds_nothing_lower_and_no_unlisted_global_minimum(name, d, params):
    """Over a 401×401 grid of the domain no value is below f*; every grid-local minimum near f*,
    polished by Newton, that lands at f* is a listed minimiser, and every interior listed one is found."""
    entry = BUILTINS[name]
    facts = entry.facts(d, params)
    mins = minimizers(name, d, params)
    f_star = facts.f_min
    (x0, x1), (y0, y1) = entry.bounds(2)
    xs = torch.linspace(x0, x1, GRID, dtype=torch.float64)
    ys = torch.linspace(y0, y1, GRID, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="ij"), dim=-1)
    values = value(name, grid, params)
    tol = 1e-12 * max(1.0, abs(f_star))
    assert values.min().item() >= f_star - tol
    if not entry.differentiable_at_min:
        return  # Newton needs a Hessian; the grid bound above is the check for non-smooth minima
    padded = torch.nn.functional.pad(values[None, None], (1, 1, 1, 1), value=math.inf)[0, 0]
    neighbours = torch.stack(
        [padded[1 + i : 1 + i + GRID, 1 + j : 1 + j + GRID] for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)]
    )
    local = (values <= neighbours.min(dim=0).values) & (values <= f_star + 0.1 * (1.0 + abs(f_star)))
    candidates = grid[local]
    order = torch.argsort(value(name, candidates, params))[:64]
    polished = _newton(name, candidates[order], params)
    found = []
    for p in polished:
        inside = all(lo <= v <= hi for v, (lo, hi) in zip(p.tolist(), entry.bounds(2), strict=True))
        f = value(name, p, params).item()
        if not inside or not math.isfinite(f):
            continue
        assert f >= f_star - tol, f"a point of the domain lies below f*: {p.tolist()} has f = {f!r}"
        if abs(f - f_star) <= 1e-9 * max(1.0, abs(f_star)):
            nearest = min(math.dist(p.tolist(), m) for m in mins)
            assert nearest <= 1e-6, f"an unlisted global minimiser: {p.tolist()} (f = {f!r})"
            found.append(p.tolist())
    for m in mins:
        if free_coordinates(entry, m) != [0, 1]:
            continue  # an edge minimum is not a stationary point, so Newton cannot land on it
        assert any(math.dist(m, q) <= 1e-6 for q in found), f"listed minimiser {m} not found from the grid"


# ---- the constants, derived independently ---------------------------------------------------


def newton_2d(grad, hess, start, steps=50):
    x, y = start
    for _ in range(steps):
        gx, gy = grad(x, y)
        (a, b), (c, d) = hess(x, y)
        det = a * d - b * c
        x, y = x - (d * gx - b * gy) / det, y - (-c * gx + a * gy) / det
    return x, y


def himmelblau_grad(x, y):
    u, v = x * x + y - 11, x + y * y - 7
    return 4 * x * u + 2 * v, 2 * u + 4 * y * v


def himmelblau_hess(x, y):
    u, v = x * x + y - 11, x + y * y - 7
    return (4 * u + 8 * x * x + 2, 4 * x + 4 * y), (4 * x + 4 * y, 2 + 4 * v + 8 * y * y)


def test_himmelblau_four_minima_by_newton_in_float64():
    # Rough locations from Himmelblau (1972); Newton with the hand-derived gradient and Hessian.
    rough = [(3.0, 2.0), (-2.8, 3.1), (-3.8, -3.3), (3.6, -1.8)]
    listed = BUILTINS["himmelblau"].facts().minimizers
    assert len(listed) == 4
    for start, m in zip(rough, listed, strict=True):
        x, y = newton_2d(himmelblau_grad, himmelblau_hess, start)
        assert abs(x - m[0]) <= 2 * math.ulp(m[0]) and abs(y - m[1]) <= 2 * math.ulp(m[1]), ((x, y), m)


def six_hump_grad(x, y):
    return 8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3


def six_hump_hess(x, y):
    return (8 - 25.2 * x * x + 10 * x**4, 1.0), (1.0, -8 + 48 * y * y)


def test_six_hump_camel_minima_by_newton_in_float64():
    listed = BUILTINS["six_hump_camel"].facts().minimizers
    for start, m in zip([(0.09, -0.71), (-0.09, 0.71)], listed, strict=True):
        x, y = newton_2d(six_hump_grad, six_hump_hess, start)
        assert abs(x - m[0]) <= 4 * math.ulp(m[0]) and abs(y - m[1]) <= 4 * math.ulp(m[1]), ((x, y), m)


def test_styblinski_tang_root_by_newton_in_float64():
    x = -3.0
    for _ in range(60):
        x -= (4 * x**3 - 32 * x + 5) / (12 * x * x - 32)
    listed = BUILTINS["styblinski_tang"].facts(3).minimizers
    assert listed == [[listed[0][0]] * 3]
    assert abs(listed[0][0] - x) <= 2 * math.ulp(x)


def test_mccormick_minimum_in_closed_form():
    # On ∇f = 0: x − y = 1 and cos(x + y) = −1/2; the lowest in the domain has x + y = −2π/3.
    (m,) = BUILTINS["mccormick"].facts().minimizers
    assert abs(m[0] - (0.5 - math.pi / 3)) <= 2 * math.ulp(0.5) and abs(m[1] - (-0.5 - math.pi / 3)) <= 4e-16
    assert abs(BUILTINS["mccormick"].facts().f_min - (-math.sqrt(3) / 2 - math.pi / 3)) <= 4e-16


def test_dixon_price_lists_exactly_the_sign_patterns_that_reach_zero():
    """Flipping the sign of any coordinate but the last makes f > 0; flipping the last keeps f = 0."""
    for d in (2, 3, 4, 6):
        listed = BUILTINS["dixon_price"].facts(d).minimizers
        base = [2.0 ** (-(2.0**i - 2) / 2.0**i) for i in range(1, d + 1)]
        assert sorted(map(tuple, listed)) == sorted([tuple(base), (*base[:-1], -base[-1])])
        for i in range(1, d - 1):
            flipped = [*base]
            flipped[i] = -flipped[i]
            assert value("dixon_price", torch.tensor(flipped, dtype=torch.float64), {}).item() > 0.1


def test_eggholder_minimum_sits_on_the_edge_and_the_copied_value_is_not_the_minimum():
    def dfdy(y):  # ∂f/∂y at x = 512, where x/2 + y + 47 > 0 and x − y − 47 > 0 (hand-derived)
        s1, s2 = math.sqrt(y + 303), math.sqrt(465 - y)
        return -math.sin(s1) - (y + 47) * math.cos(s1) / (2 * s1) + 512 * math.cos(s2) / (2 * s2)

    a, b = 404.0, 404.5  # secant on ∂f/∂y = 0
    for _ in range(60):
        fa, fb = dfdy(a), dfdy(b)
        if fb == fa:
            break
        a, b = b, b - fb * (b - a) / (fb - fa)
    (m,) = BUILTINS["eggholder"].facts().minimizers
    assert m[0] == 512.0 and abs(m[1] - b) <= 4 * math.ulp(b)
    f_star = BUILTINS["eggholder"].facts().f_min
    at_rounded = value("eggholder", torch.tensor([512.0, 404.2319], dtype=torch.float64), {}).item()
    assert at_rounded - f_star > 5e-9  # −959.6406627106155 (the value many collections list) is not f*


def test_constants_are_correctly_rounded_per_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40

    def rounded(v):
        return float(v)  # mpmath rounds to nearest

    # Himmelblau and six-hump camel: findroot on the hand-written gradients.
    for m in BUILTINS["himmelblau"].facts().minimizers:
        r = mp.findroot(lambda x, y: himmelblau_grad(x, y), (mp.mpf(m[0]), mp.mpf(m[1])))
        assert [rounded(r[0]), rounded(r[1])] == m
    six = BUILTINS["six_hump_camel"].facts()
    for m in six.minimizers:
        r = mp.findroot(lambda x, y: six_hump_grad(x, y), (mp.mpf(m[0]), mp.mpf(m[1])))
        assert [rounded(r[0]), rounded(r[1])] == m
        x, y = r[0], r[1]
        assert rounded((4 - mp.mpf("2.1") * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2) == six.f_min
    # Styblinski–Tang: the root of 4x³ − 32x + 5 and d·f₁*.
    root = mp.findroot(lambda x: 4 * x**3 - 32 * x + 5, -2.9)
    f1 = (root**4 - 16 * root**2 + 5 * root) / 2
    for d in (1, 2, 3, 7, 10):
        facts = BUILTINS["styblinski_tang"].facts(d)
        assert facts.minimizers == [[rounded(root)] * d]
        assert facts.f_min == rounded(f1 * d)
    assert rounded(f1) == -39.16616570377141  # the issue's value, to its 16 digits
    assert rounded(root) != -2.9035340277711783  # the issue's xᵢ is 3 ulps away from the root:
    assert round((-2.9035340277711783 - rounded(root)) / math.ulp(rounded(root))) == -3
    # McCormick: −√3/2 − π/3 at (½ − π/3, −½ − π/3).
    mc = BUILTINS["mccormick"].facts()
    assert mc.f_min == rounded(-mp.sqrt(3) / 2 - mp.pi / 3)
    assert mc.minimizers == [[rounded(mp.mpf(1) / 2 - mp.pi / 3), rounded(-mp.mpf(1) / 2 - mp.pi / 3)]]

    # Eggholder: the root of ∂f/∂y on the edge x = 512, and f there.
    def egg(x, y):
        return -(y + 47) * mp.sin(mp.sqrt(abs(x / 2 + y + 47))) - x * mp.sin(mp.sqrt(abs(x - (y + 47))))

    y = mp.findroot(lambda t: mp.diff(lambda s: egg(512, s), t), 404.23)
    eg = BUILTINS["eggholder"].facts()
    assert eg.minimizers == [[512.0, rounded(y)]]
    assert eg.f_min == rounded(egg(512, y))
    assert mp.diff(lambda s: egg(s, y), 512) < -3  # f still falls beyond the edge x = 512
    # Dixon–Price: x₁ = 1, xᵢ = √(xᵢ₋₁/2).
    xs = [mp.mpf(1)]
    for _ in range(5):
        xs.append(mp.sqrt(xs[-1] / 2))
    assert BUILTINS["dixon_price"].facts(6).minimizers[0] == [rounded(v) for v in xs]


# ---- the quadratic --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_quadratic_minimizer_matches_torch_solve(seed):
    gen = torch.Generator().manual_seed(seed)
    d = 1 + seed
    m = torch.randn(d, d, generator=gen, dtype=torch.float64)
    a = (m @ m.T + 0.5 * torch.eye(d, dtype=torch.float64)).tolist()
    a = [[a[min(i, j)][max(i, j)] for j in range(d)] for i in range(d)]  # exactly symmetric
    b = torch.randn(d, generator=gen, dtype=torch.float64).tolist()
    entry = BUILTINS["quadratic"]
    facts = entry.facts(d, entry.resolve_params({"A": a, "b": b}))
    x_ref = torch.linalg.solve(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
    torch.testing.assert_close(torch.tensor(facts.minimizers[0], dtype=torch.float64), x_ref, rtol=1e-10, atol=1e-12)
    assert facts.f_min == pytest.approx(-0.5 * float(torch.dot(torch.tensor(b, dtype=torch.float64), x_ref)), rel=1e-10)
    # Exact: the residual b − Ax* of the rounded x* is below the rounding of x* itself.
    x = facts.minimizers[0]
    for i in range(d):
        residual = Fraction(b[i]) - sum(Fraction(a[i][j]) * Fraction(x[j]) for j in range(d))
        bound = sum(abs(Fraction(a[i][j])) * Fraction(math.ulp(x[j])) for j in range(d))
        assert abs(residual) <= bound


def test_quadratic_without_positive_definite_a_has_no_minimum_and_says_so():
    entry = BUILTINS["quadratic"]
    for a in ([[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.0, 0.0]], [[-1.0, 0.0], [0.0, 1.0]]):
        facts = entry.facts(2, entry.resolve_params({"A": a, "b": [1.0, 1.0]}))
        assert facts.minimizers == [] and facts.f_min is None
        assert any("not positive definite" in note for note in facts.notes)


@pytest.mark.parametrize(
    ("given", "key", "words"),
    [
        ({"A": [[1.0, 2.0], [3.0, 1.0]]}, "A", "symmetric"),
        ({"A": [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]}, "A", "square"),
        ({"A": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}, "b", "give both A and b"),
        ({"b": [1.0, "x"]}, "b", "finite numbers"),
        ({"A": 3.0}, "A", "square matrix"),
    ],
)
def test_quadratic_parameter_errors(given, key, words):
    with pytest.raises(ParamError) as info:
        BUILTINS["quadratic"].resolve_params(given)
    assert info.value.key == key and words in info.value.message


@pytest.mark.parametrize(
    ("name", "given", "key", "words"),
    [
        ("rosenbrock", {"c": 1.0}, "c", "has no parameter"),
        ("rosenbrock", {"b": -1.0}, "b", "needs b > 0"),
        ("rosenbrock", {"b": True}, "b", "expected a number"),
        ("ackley", {"a": float("inf")}, "a", "finite"),
        ("himmelblau", {"a": 1.0}, "a", "has no parameter"),
    ],
)
def test_parameter_errors(name, given, key, words):
    with pytest.raises(ParamError) as info:
        BUILTINS[name].resolve_params(given)
    assert info.value.key == key and words in info.value.message


def test_rosenbrock_minimizer_follows_a():
    entry = BUILTINS["rosenbrock"]
    assert entry.facts(2, entry.resolve_params({"a": 2.0})).minimizers == [[2.0, 4.0]]
    assert entry.facts(4, entry.resolve_params({"a": 0.0})).minimizers == [[0.0] * 4]
    unknown = entry.facts(4, entry.resolve_params({"a": 2.0}))
    assert unknown.minimizers == [] and unknown.f_min is None  # not known in closed form: not listed


# ---- the definitions, against plain-Python transcriptions of the literature formulas ----------


def _zakharov(x, p):
    s = sum(0.5 * i * v for i, v in enumerate(x, 1))
    return sum(v * v for v in x) + s**2 + s**4


def _goldstein_price(x, p):
    u, v = x
    a = 1 + (u + v + 1) ** 2 * (19 - 14 * u + 3 * u**2 - 14 * v + 6 * u * v + 3 * v**2)
    b = 30 + (2 * u - 3 * v) ** 2 * (18 - 32 * u + 12 * u**2 + 48 * v - 36 * u * v + 27 * v**2)
    return a * b


# Written from Jamil & Yang (2013) and Surjanovic & Bingham's pages with the math module,
# independently of gdplay/problems/builtins.py (which computes some of them differently).
REFERENCE = {
    "sphere": lambda x, p: sum(v * v for v in x),
    "rosenbrock": lambda x, p: sum(
        p["b"] * (x[i + 1] - x[i] ** 2) ** 2 + (p["a"] - x[i]) ** 2 for i in range(len(x) - 1)
    ),
    "rastrigin": lambda x, p: p["A"] * len(x) + sum(v * v - p["A"] * math.cos(2 * math.pi * v) for v in x),
    "ackley": lambda x, p: (
        -p["a"] * math.exp(-p["b"] * math.sqrt(sum(v * v for v in x) / len(x)))
        - math.exp(sum(math.cos(p["c"] * v) for v in x) / len(x))
        + p["a"]
        + math.e
    ),
    "styblinski_tang": lambda x, p: 0.5 * sum(v**4 - 16 * v**2 + 5 * v for v in x),
    "dixon_price": lambda x, p: (
        (x[0] - 1) ** 2 + sum(i * (2 * x[i - 1] ** 2 - x[i - 2]) ** 2 for i in range(2, len(x) + 1))
    ),
    "zakharov": _zakharov,
    "himmelblau": lambda x, p: (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2,
    "booth": lambda x, p: (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2,
    "beale": lambda x, p: (
        (1.5 - x[0] + x[0] * x[1]) ** 2 + (2.25 - x[0] + x[0] * x[1] ** 2) ** 2 + (2.625 - x[0] + x[0] * x[1] ** 3) ** 2
    ),
    "matyas": lambda x, p: 0.26 * (x[0] ** 2 + x[1] ** 2) - 0.48 * x[0] * x[1],
    "three_hump_camel": lambda x, p: 2 * x[0] ** 2 - 1.05 * x[0] ** 4 + x[0] ** 6 / 6 + x[0] * x[1] + x[1] ** 2,
    "six_hump_camel": lambda x, p: (
        (4 - 2.1 * x[0] ** 2 + x[0] ** 4 / 3) * x[0] ** 2 + x[0] * x[1] + (-4 + 4 * x[1] ** 2) * x[1] ** 2
    ),
    "goldstein_price": _goldstein_price,
    "mccormick": lambda x, p: math.sin(x[0] + x[1]) + (x[0] - x[1]) ** 2 - 1.5 * x[0] + 2.5 * x[1] + 1,
    "levi": lambda x, p: (
        math.sin(3 * math.pi * x[0]) ** 2
        + (x[0] - 1) ** 2 * (1 + math.sin(3 * math.pi * x[1]) ** 2)
        + (x[1] - 1) ** 2 * (1 + math.sin(2 * math.pi * x[1]) ** 2)
    ),
    "easom": lambda x, p: -math.cos(x[0]) * math.cos(x[1]) * math.exp(-((x[0] - math.pi) ** 2) - (x[1] - math.pi) ** 2),
    "eggholder": lambda x, p: (
        -(x[1] + 47) * math.sin(math.sqrt(abs(x[0] / 2 + x[1] + 47)))
        - x[0] * math.sin(math.sqrt(abs(x[0] - (x[1] + 47))))
    ),
    "bukin6": lambda x, p: 100 * math.sqrt(abs(x[1] - 0.01 * x[0] ** 2)) + 0.01 * abs(x[0] + 10),
    "quadratic": lambda x, p: (
        0.5 * sum(x[i] * p["A"][i][j] * x[j] for i in range(len(x)) for j in range(len(x)))
        - sum(bi * xi for bi, xi in zip(p["b"], x, strict=True))
    ),
    # on the default data set (problems/data.py: 200 generated samples, d − 1 features)
    "least_squares": lambda x, p: _on_default_data(x, "least_squares", lambda z, y: (z - y) ** 2),
    "logistic_regression": lambda x, p: (
        _on_default_data(x, "logistic_regression", lambda z, y: max(z, 0.0) + math.log1p(math.exp(-abs(z))) - y * z)
        + 0.5 * p["l2"] * sum(v * v for v in x[:-1])
    ),
}


def _on_default_data(x, kind, term):
    from gdplay.problems.data import generate

    data = generate(200, len(x) - 1, 0.1, 0, kind)
    rows = zip(data.x, data.y, strict=True)
    total = [term(sum(w * xi for w, xi in zip(x[:-1], row, strict=True)) + x[-1], y) for row, y in rows]
    return math.fsum(total) / len(total)


@pytest.mark.parametrize(("name", "d", "params"), CASES)
def test_definition_matches_an_independent_transcription(name, d, params):
    """Relative agreement 1e-12 at 8 random points of the domain and at the start."""
    reference = REFERENCE.get(name)
    assert reference is not None, f"add a plain-Python transcription of {name}'s formula to REFERENCE"
    entry = BUILTINS[name]
    points = [*random_points(entry, d, 8, zlib.crc32(f"ref-{name}".encode())).tolist(), entry.start(d)]
    for x in points:
        got = value(name, torch.tensor(x, dtype=torch.float64), params).item()
        want = reference(x, params)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12), x


def test_literature_values_away_from_the_minimum():
    # Values worked by hand from the formulas: a check on the transcriptions themselves.
    assert REFERENCE["goldstein_price"]([0.0, 0.0], {}) == 600  # [1 + 1·19]·[30 + 0]
    assert REFERENCE["rosenbrock"]([-1.2, 1.0], {"a": 1.0, "b": 100.0}) == pytest.approx(24.2)  # 100·0.44² + 2.2²
    assert REFERENCE["booth"]([0.0, 0.0], {}) == 74  # 49 + 25
    assert REFERENCE["beale"]([1.0, 1.0], {}) == pytest.approx(14.203125)  # 1.5² + 2.25² + 2.625²
    assert REFERENCE["himmelblau"]([0.0, 0.0], {}) == 170  # 121 + 49
    assert value("goldstein_price", torch.tensor([0.0, 0.0], dtype=torch.float64), {}).item() == 600


# ---- what the notes promise about the default starts ------------------------------------------

PROMISES = [name for name, entry in BUILTINS.items() if any("default start" in note for note in entry.facts().notes)]


@pytest.mark.parametrize("name", PROMISES)
def test_gradient_descent_from_the_default_start_ends_near_a_global_minimizer(name):
    """Where a note says the default start lies in the global basin, plain gradient descent
    (lr = 0.5/λ_max at the minimum; 1e-3 at a non-differentiable one) ends within 0.05 of a
    global minimiser, far closer than to any other local minimum."""
    entry = BUILTINS[name]
    params = entry.resolve_params()
    facts = entry.facts()
    lr = 1e-3
    if entry.differentiable_at_min:
        h = torch.autograd.functional.hessian(
            lambda z: value(name, z, params), torch.tensor(facts.minimizers[0], dtype=torch.float64)
        )
        lr = 0.5 / torch.linalg.eigvalsh(h).max().item()
    x = torch.tensor(entry.start(facts.dim), dtype=torch.float64, requires_grad=True)
    for _ in range(3000):
        (g,) = torch.autograd.grad(value(name, x, params), x)
        with torch.no_grad():
            x -= lr * g
    assert min(math.dist(x.tolist(), m) for m in facts.minimizers) < 0.05, x.tolist()
