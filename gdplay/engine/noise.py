"""Stochastic gradients: per-run random streams, gradient noise and minibatches.

The engine computes the exact gradient g = ∇f(x_t) by autograd (that is what a run records,
with f(x_t)), then, before the update, replaces it with a stochastic one:

- minibatch (an objective on data, `batch_size` < n): g = ∇ f_S(x_t), the gradient of the
  mean loss over the samples S_t of this step, a second autograd pass over those samples only;
- gaussian noise: g ← g + σ·ξ_t;   multiplicative noise: g ← g·(1 + σ·ξ_t);
  with ξ_t ~ N(0, I), one fresh draw per step, run and coordinate.

Every random number is a function of (the run's key, the step, a lane), not of a generator's
state: a counter-based stream. The key of a run is a hash of its `seed` and its index in the
config file, so a run's draws do not depend on which other runs share its batch, on the order
of the rows, on the chunking of steps or on the number of threads, and a sweep row is the same
run alone, bit for bit. Rows with the same seed get the same draws (common random numbers: in
a sweep over lr, the rows differ by their lr, not by their luck); `seeds: N` gives N streams.

The hash is defined on 32-bit words (arithmetic mod 2³²; `reference_block_words` computes it in
int64, where nothing overflows) and computed in int32 tensors, whose multiplication wraps mod 2³²
and whose shifts are made logical by a mask: the same bits, about 3× cheaper. One word is mixed by

    w ← w ⊕ (w ≫ 16);  w ← 0x45d9f3b·w mod 2³²;  w ← w ⊕ (w ≫ 16);  w ← 0x45d9f3b·w mod 2³²;  w ← w ⊕ (w ≫ 16)

(a bijection of 32-bit words with full avalanche). A uniform is (w + ½)/2³², in (0, 1); two
uniforms give two normals by Box–Muller, z₁ = r·cos θ, z₂ = r·sin θ with r = √(−2 ln u₁) and
θ = 2π·u₂ (u₁ ≥ 2⁻³³, so r ≤ √(66·ln 2) ≈ 6.76: the tail beyond, P(r > 6.76) = 2⁻³³ ≈ 1.2·10⁻¹⁰, is cut).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

M32 = 0xFFFFFFFF
_MUL = 0x45D9F3B
NOISE, BATCH, SHUFFLE = 0x6E6F6973, 0x62617463, 0x73687566  # purposes: "nois", "batc", "shuf"

# values [B] of the mean loss over the samples idx [B, k] of each row, at points [B, D]
SampleFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def mix(w: Any) -> Any:
    """The 32-bit mixer above, on a Python int or an int64 tensor of words in [0, 2³²)."""
    w = w ^ (w >> 16)
    w = (w * _MUL) & M32
    w = w ^ (w >> 16)
    w = (w * _MUL) & M32
    return w ^ (w >> 16)


def run_key(seed: int, index: int) -> tuple[int, int]:
    """The two 32-bit words of the stream of the run with `seed` at `index` in its file."""
    digest = hashlib.blake2b(f"gdplay-noise:{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")


def keys_tensor(pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
    return torch.tensor(list(pairs), dtype=torch.int64).reshape(-1, 2)


def _counter(purpose: int, counter: int) -> int:
    return mix(mix((counter & M32) ^ purpose) ^ (counter >> 32))  # a Python int: free


def words(keys: torch.Tensor, purpose: int, counter: int, lanes: int) -> torch.Tensor:
    """[B, lanes] random 32-bit words (int64 in [0, 2³²)) of the rows with `keys` [B, 2], for (purpose, counter)."""
    return block_words(keys, purpose, counter, 1, lanes)[0].to(torch.int64) & M32


def _signed(values: Any) -> torch.Tensor:
    """32-bit words as int32 tensors (two's complement: the same bits)."""
    t = torch.as_tensor(values, dtype=torch.int64)
    return torch.where(t >= 1 << 31, t - (1 << 32), t).to(torch.int32)


def _mix32(w: torch.Tensor) -> torch.Tensor:
    """`mix` on int32 words, in place (w is consumed): the same bits as the int64 form, since
    w ↦ 0x45d9f3b·w mod 2³² is int32 multiplication that wraps, and a logical shift is the
    arithmetic one masked to its low 16 bits. int32 is about 3× cheaper than int64 here (8 lanes
    per AVX2 vector, and a native 32-bit multiply)."""
    for _ in range(2):
        w.bitwise_xor_((w >> 16).bitwise_and_(0xFFFF)).mul_(_MUL)
    return w.bitwise_xor_((w >> 16).bitwise_and_(0xFFFF))


def reference_block_words(keys: torch.Tensor, purpose: int, first: int, count: int, lanes: int) -> torch.Tensor:
    """`block_words` in int64 arithmetic, the definition as written above (kept for the tests)."""
    c = torch.tensor([_counter(purpose, first + k) for k in range(count)], dtype=torch.int64, device=keys.device)
    a = mix(keys[:, 0].unsqueeze(0) ^ c.unsqueeze(1))  # [count, B]
    a = mix(a ^ keys[:, 1].unsqueeze(0))
    lane = torch.tensor([mix(j + 1) for j in range(lanes)], dtype=torch.int64, device=keys.device)
    return mix(mix(a.unsqueeze(2) ^ lane))


def block_words(keys: torch.Tensor, purpose: int, first: int, count: int, lanes: int) -> torch.Tensor:
    """[count, B, lanes] int32: the words of counters first .. first + count − 1 at once, as
    int32 bit patterns (the same numbers as `words` one counter at a time: each is a function of
    its counter alone). With keys [B, 2] of 32-bit words:

        a = mix(mix(k₀ ⊕ c_t) ⊕ k₁),   word(t, j) = mix(mix(a ⊕ ℓ_j)),   c_t = mix(mix(t ⊕ purpose)),  ℓ_j = mix(j + 1)
    """
    k = _signed(keys).to(keys.device)
    c = _signed([_counter(purpose, first + i) for i in range(count)]).to(keys.device)
    a = _mix32(k[:, 0].unsqueeze(0) ^ c.unsqueeze(1))  # [count, B]
    a = _mix32(a.bitwise_xor_(k[:, 1].unsqueeze(0)))
    lane = _signed([mix(j + 1) for j in range(lanes)]).to(keys.device)
    w = _mix32(a.unsqueeze(2) ^ lane)
    return _mix32(w)


def _unit(w: torch.Tensor) -> torch.Tensor:
    """Uniforms (w + ½)/2³² in (0, 1), float64, of int32 bit patterns w (read as unsigned)."""
    u = w.to(torch.float64)
    u += (w < 0).to(torch.float64).mul_(2.0**32).add_(0.5)  # exact: every term an integer or a half below 2⁵³
    return u.mul_(2.0**-32)


def uniforms(keys: torch.Tensor, purpose: int, counter: int, lanes: int) -> torch.Tensor:
    """[B, lanes] uniforms in (0, 1), float64."""
    return _unit(block_words(keys, purpose, counter, 1, lanes)[0])


def normals(keys: torch.Tensor, counter: int, dim: int) -> torch.Tensor:
    """[B, dim] standard normals, float64: the noise of step `counter` (Box–Muller on pairs)."""
    return block_normals(keys, counter, 1, dim)[0]


def block_normals(
    keys: torch.Tensor, first: int, count: int, dim: int, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """[count, B, dim] standard normals of steps first .. first + count − 1, computed in float64
    and rounded once to `dtype`."""
    pairs = (dim + 1) // 2
    u = _unit(block_words(keys, NOISE, first, count, 2 * pairs))
    r = u[..., :pairs].log_().mul_(-2.0).sqrt_()
    theta = u[..., pairs:].mul_(2.0 * math.pi)
    out = torch.empty((*u.shape[:-1], 2 * pairs), dtype=dtype, device=u.device)
    out[..., :pairs] = r * torch.cos(theta)  # each product in float64, then one rounding to dtype
    out[..., pairs:] = r.mul_(theta.sin_())
    return out[..., :dim]


@dataclass(frozen=True)
class Minibatch:
    """Where a step's samples come from: n samples, `size` per step, by `sampling`."""

    n: int
    size: int
    sampling: str  # shuffle | replacement
    sample_fn: SampleFn


def sample_indices(mb: Minibatch, keys: torch.Tensor, t: int, perms: dict[int, torch.Tensor]) -> torch.Tensor:
    """[B, size] indices of the samples of step t.

    replacement: each index uniform on 0..n−1, independently. shuffle: the sample stream of a row
    is its epoch permutations one after another (π₀, π₁, ...), and step t takes the positions
    t·size .. t·size + size − 1 of it; so every sample is used exactly once per epoch (a batch may
    straddle two epochs). π_e sorts n uniforms drawn for (row, e). `perms` caches them."""
    n, k = mb.n, mb.size
    if mb.sampling == "replacement":
        u = uniforms(keys, BATCH, t, k)
        return torch.clamp((u * n).to(torch.int64), max=n - 1)
    positions = torch.arange(t * k, t * k + k, dtype=torch.int64)
    epochs = positions // n
    out = torch.empty((keys.shape[0], k), dtype=torch.int64)
    for e in range(int(epochs[0]), int(epochs[-1]) + 1):
        if e not in perms:
            perms[e] = torch.argsort(words(keys, SHUFFLE, e, n), dim=1, stable=True)
        cols = torch.nonzero(epochs == e).squeeze(1)
        out[:, cols] = perms[e][:, positions[cols] % n]
    for old in [e for e in perms if e < int(epochs[0])]:
        del perms[old]
    return out


@dataclass(frozen=True)
class NoiseSpec:
    """The stochastic part of a batch, per row: keys [B, 2], σ [B] (float64), kind, minibatch."""

    keys: torch.Tensor
    sigma: torch.Tensor
    kind: str = "gaussian"
    minibatch: Minibatch | None = None

    def rows(self, rows: torch.Tensor) -> NoiseSpec:
        """The spec of a subset of rows (in that order)."""
        return replace(self, keys=self.keys[rows], sigma=self.sigma[rows])

    def bind(self, order: torch.Tensor, dtype: torch.dtype, device: torch.device) -> Perturbation:
        """The perturbation of a part of the batch whose rows, in position order, are `order`."""
        return Perturbation(self.rows(order), dtype, device)


BLOCK_VALUES = 1 << 16  # normals drawn at once: a block of steps, for every distinct stream (64K: in cache)


class Perturbation:
    """Replaces the gradients of a part's leaves by stochastic ones, step by step.

    The normals are drawn for a block of steps at a time, once per distinct stream (rows that
    share a seed share their draws), which keeps the per-step cost to one or two operations
    on the batch; the numbers are the same as drawing step by step."""

    def __init__(self, spec: NoiseSpec, dtype: torch.dtype, device: torch.device):
        self.spec = spec
        self.keys = spec.keys.cpu()
        self.noisy = bool((spec.sigma != 0).any())
        uniform = bool((spec.sigma == spec.sigma[0]).all())
        self.scale: Any = float(spec.sigma[0]) if uniform else spec.sigma.to(device=device, dtype=dtype).unsqueeze(1)
        self.dtype, self.device = dtype, device
        self.perms: dict[int, torch.Tensor] = {}
        # rows that share a key share their draws: draw once per distinct key
        unique, inverse = torch.unique(self.keys, dim=0, return_inverse=True)
        self.shared = (unique, inverse) if len(unique) < len(self.keys) else None
        self.streams = unique if self.shared is not None else self.keys
        self.gather = None if self.shared is None or len(unique) == 1 else inverse.to(device)
        self.block: torch.Tensor | None = None
        self.block_start = 0

    def gradient(self, t: int, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """The stochastic gradient of step t at the points x [B, D], given the exact one g [B, D]."""
        mb = self.spec.minibatch
        if mb is not None and mb.size < mb.n:
            idx = self._draw(lambda keys: sample_indices(mb, keys, t, self.perms))
            with torch.enable_grad():
                p = x.detach().requires_grad_(True)
                (g,) = torch.autograd.grad(mb.sample_fn(p, idx.to(x.device)).sum(), p)
        if not self.noisy:
            return g
        xi = self._normals(t, g.shape[1])  # [U, D]: one row per distinct stream (U = 1: broadcast)
        if self.spec.kind == "multiplicative":
            return g * (1.0 + self.scale * xi)
        # σ·ξ, then + g: two roundings whether σ is one number or a column (add's alpha would fuse
        # them into one on CPUs with FMA, and a row would differ from the same run alone)
        return g + self.scale * xi

    def _normals(self, t: int, dim: int) -> torch.Tensor:
        block = self.block
        if block is None or not self.block_start <= t < self.block_start + block.shape[0]:
            count = max(1, min(256, BLOCK_VALUES // max(1, len(self.streams) * dim)))
            block = block_normals(self.streams, t, count, dim, self.dtype).to(device=self.device)
            self.block, self.block_start = block, t
        xi = block[t - self.block_start]
        return xi if self.gather is None else xi[self.gather]

    def _draw(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        if self.shared is None:
            return fn(self.keys)
        unique, inverse = self.shared
        return fn(unique)[inverse]

    def apply(self, t: int, x: torch.Tensor, leaves: Sequence[torch.Tensor]) -> None:
        """Set each leaf's .grad to the stochastic gradient (new tensors: the records keep the exact one)."""
        grads = [leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for leaf in leaves]
        if len(leaves) == 1:
            leaf = leaves[0]
            leaf.grad = self.gradient(t, x, grads[0].reshape(x.shape)).reshape(leaf.shape)
            return
        new = self.gradient(t, x, torch.cat(grads))
        at = 0
        for leaf in leaves:
            leaf.grad = new[at : at + leaf.shape[0]]
            at += leaf.shape[0]
