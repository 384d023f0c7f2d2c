"""What the figures measure: distance to the ideal classifier (Algorithm 1),
alignment cosines and stable rank. (Neuron contributions: :mod:`prelu_robust.neurons`.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse.linalg import ArpackError, LinearOperator, eigsh

from .attacks.pgd import written_share
from .cycles import Cycles
from .models import PReLUNet, matmul_in
from .spaces import FullSpace, ScoreGrad, row_blocks, scaled_difference
from .validation import require

__all__ = ["DistanceEstimate", "least_squares_scale", "distance_to_ideal", "cosine_matrix", "correlation_image", "stable_rank",
           "gram_stable_rank", "ClassifierStatistics", "classifier_statistics"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class DistanceEstimate:
    """``sup`` is the largest ``|c f(x) - F(x)|`` found on the unit sphere (a lower
    bound of ``dist(f, F)``), ``scale`` the least-squares ``c``, ``per_batch`` the
    maximum found by each batch of starting points, shape (n_batches,)."""

    sup: float
    scale: float
    per_batch: tuple[float, ...]


def least_squares_scale(f: Tensor, F: Tensor) -> float:
    """``c = mean(f F) / mean(f^2)``: the c minimising ``mean (c f - F)^2``."""
    f, F = f.double(), F.double()
    return float((f * F).mean() / (f * f).mean().clamp_min(1e-300))


@torch.no_grad()
def distance_to_ideal(net: ScoreGrad, ideal: ScoreGrad, x_data: Tensor, *, n_batches: int = 10,
                      batch_size: int = 1000, steps: int = 2000, step_size: float = 0.01,
                      seed: int = 0, spaces=None, exact_net_space=None, written: bool = False) -> DistanceEstimate:
    """Algorithm 1: estimate ``inf_c sup_{|x|=1} |c f(x) - F(x)|``.

    ``net`` and ``ideal`` map x (n, D) to scores (n,) and input gradients (n, D).
    ``c`` is fixed to the least-squares scale on ``x_data`` (n, D). Then each of
    ``n_batches`` batches of uniform points on the sphere ascends ``(c f - F)^2``
    by normalised gradient steps, re-projected onto the sphere after each step.
    Every point ascends its *own* objective (the paper's version normalises the
    gradient of the batch mean, whose per-point 1/n factor falls under its 1e-7
    guard when the gap is ~1e-5 and damps the ascent). The maximum over all
    iterates is reported.

    ``written``: Algorithm 1 as the authors' code runs it: each point's step is the
    gradient of the batch-mean ``mean (c f - F)^2`` over its batch normalised with the
    +1e-7 guard (a share ``g / (g + 1e-7)`` of ``step_size``, ``g = 2 |gap| |grad gap| /
    batch_size``), and the maximum over the *last* iterates is reported.

    ``spaces`` = (net_space, ideal_space) sharing one basis restricts the steps
    to a subspace (:mod:`prelu_robust.spaces`). ``exact_net_space`` (same
    coordinates) fits ``c`` and re-evaluates the net at each point's best and last
    iterates when the steps use a surrogate: the reported value is that net's.
    """
    require(n_batches >= 1 and batch_size >= 1 and steps >= 0, "distance estimate sizes",
            (n_batches, batch_size, steps), "n_batches >= 1, batch_size >= 1, steps >= 0")
    dim = x_data.shape[1]
    net_space, ideal_space = spaces or (FullSpace(net, dim), FullSpace(ideal, dim))
    c = least_squares_scale((exact_net_space or net_space).scores(x_data), ideal_space.scores(x_data))
    gen = torch.Generator().manual_seed(seed)
    # the batches ascend side by side, as one array: the same points, a tenth of the calls
    x = torch.cat([torch.randn(batch_size, dim, generator=gen, dtype=x_data.dtype) for _ in range(n_batches)])
    x = x.to(x_data.device)
    a, s, u = net_space.split(x / x.norm(dim=1, keepdim=True))
    gap_space = scaled_difference(net_space, ideal_space, c)  # c f - F

    def at_origin(space, n: int) -> Tensor:
        """The anchors of n points at the origin, computed for one (the product is zero)."""
        return space.anchor(torch.zeros(1, dim, dtype=x.dtype, device=x.device)).expand(n, -1)

    def ascend(a: Tensor, s: Tensor, u: Tensor | None) -> tuple[Tensor, ...]:
        """One block of points: last iterate, largest gap found (at the last iterate when
        ``written``) and the iterate that found it. A point whose iterates cycle
        (:class:`~prelu_robust.cycles.Cycles`) has had every gap of its cycle found: it
        ascends on to the iterate of the last step and leaves."""
        n = len(a)
        best = torch.full((n,), -1.0, dtype=torch.float64, device=a.device)
        best_a, best_s = a.clone(), s.clone()
        last_a, last_s, last_gap = a.clone(), s.clone(), best.clone()
        active, cycles = torch.arange(n, device=a.device), Cycles(a, s, steps)
        gap_of = gap_space.bind(at_origin(gap_space, n), u)
        for step in range(steps + 1):
            gap, ascent = gap_of(a, s)  # ascent grows |gap| along gap's sign
            gap_size = gap.abs().double()
            better = gap_size > best[active]
            rows = active[better]
            best[rows], best_a[rows], best_s[rows] = gap_size[better], a[better], s[better]
            done = cycles.last_step == step
            if bool(done.any()):
                rows = active[done]
                last_a[rows], last_s[rows], last_gap[rows] = a[done], s[done], gap_size[done]
                stay = ~done
                if not bool(stay.any()):
                    break
                active, a, s, gap, ascent = active[stay], a[stay], s[stay], gap[stay], ascent[stay]
                cycles.keep(stay)
                gap_of = gap_space.bind(at_origin(gap_space, len(active)), None if u is None else u[active])
            # a zero ascent does not move the point
            ascent_norm = torch.linalg.vector_norm(ascent, dim=1)
            scale = gap.sign() * step_size / ascent_norm.clamp_min(1e-30)
            if written:
                # a point's gradient of mean (c f - F)^2 over its batch: 2 |gap| |grad gap| / batch_size
                scale = scale * written_share(torch.log(2 * gap.abs() * ascent_norm / batch_size))
            a = torch.addcmul(a, ascent, scale[:, None])
            radius = (torch.linalg.vector_norm(a, dim=1).square() + s.square()).sqrt()
            a, s = a.div_(radius[:, None]), s / radius
            cycles.saw(step + 1, a, s)
        if written:  # the last iterates only
            best, best_a, best_s = last_gap, last_a, last_s
        return last_a, last_s, best, best_a, best_s

    # every point ascends on its own: blocks of rows that stay in cache change no result
    blocks = row_blocks(len(x), gap_space.dim)
    a, s, best, best_a, best_s = (torch.cat(parts) for parts in zip(*[
        ascend(a[rows], s[rows], None if u is None else u[rows]) for rows in blocks]))
    if exact_net_space is not None:
        exact = exact_net_space.bind(at_origin(exact_net_space, len(x)), u)
        F_of = ideal_space.bind(at_origin(ideal_space, len(x)), u)
        best = torch.maximum(*[(c * exact(pa, ps)[0] - F_of(pa, ps)[0]).abs().double()
                               for pa, ps in ((a, s), (best_a, best_s))])
    per_batch = best.reshape(n_batches, batch_size).amax(1).tolist()
    return DistanceEstimate(sup=max(per_batch), scale=c, per_batch=tuple(per_batch))


def cosine_matrix(W: Tensor, directions: Tensor) -> Tensor:
    """Cosine of each neuron w_j (h, D) with each direction (m, D): shape (h, m)."""
    return (W / W.norm(dim=1, keepdim=True)) @ (directions / directions.norm(dim=1, keepdim=True)).T


#: Below this many rows or columns the largest singular value comes from a full SVD (cheap there).
EXACT_SVD_SIZE = 64
#: Lanczos vectors ARPACK keeps for the top eigenvalue (its default for one is 20): on the
#: probes' features a short basis converges in fewer products with H (13-16 against 21).
LANCZOS_VECTORS = 6
#: Rows of H per float64 chunk of its Frobenius norm: small enough for the heap to reuse.
NORM_ROWS = 1024
#: Up to this width the per-epoch stable rank comes from the features' Gram matrix, summed over
#: chunks of rows (n h^2 multiply-adds at full speed, then an h^3 eigendecomposition); above it,
#: from Lanczos on the features kept whole (passes over n h floats, bound by memory). Measured
#: on MNIST (width 500) and the Caltech-256 probe (width 2000): RESULTS_EPOCH_STATISTICS.md.
GRAM_WIDTH = 512


def stable_rank(H: Tensor) -> float:
    """``||H||_F^2 / ||H||_2^2`` of a feature matrix H (n, h).

    ``||H||_2^2``, the largest eigenvalue of ``H^T H``, comes from Lanczos iterations
    (ARPACK, from a fixed start) that apply ``H`` and ``H^T`` to a vector, never forming
    the h x h Gram matrix. Converged to a relative residual of 1e-6, the eigenvalue's
    relative error is about that squared over the spectral gap, below float32 H's own
    rounding (~1e-7). Small matrices, and a Lanczos run that does not converge, take the
    full SVD."""
    require(H.ndim == 2, "H", tuple(H.shape), "a matrix (n, h)")
    frobenius = sum(float(torch.linalg.vector_norm(rows, dtype=torch.float64)) ** 2 for rows in H.split(NORM_ROWS))
    if frobenius == 0.0:
        return 0.0
    return frobenius / _largest_singular_value(H) ** 2


def _largest_singular_value(H: Tensor) -> float:
    """``||H||_2`` (see :func:`stable_rank`)."""
    small = min(H.shape)
    if small <= EXACT_SVD_SIZE:
        return float(torch.linalg.svdvals(H.double())[0])
    wide = H.shape[0] < H.shape[1]  # the operator on the smaller side: H H^T (n, n) or H^T H (h, h)

    def apply(vector: np.ndarray) -> np.ndarray:
        u = torch.from_numpy(vector.astype(np.float32)).to(H.device)
        out = H @ (H.T @ u) if wide else H.T @ (H @ u)
        return out.cpu().double().numpy()

    operator = LinearOperator((small, small), matvec=apply, dtype=np.float64)
    try:
        top = eigsh(operator, k=1, which="LA", v0=np.ones(small), tol=1e-6, ncv=min(LANCZOS_VECTORS, small),
                    return_eigenvectors=False)
    except ArpackError:  # no convergence, or a Krylov space that collapsed (H of low rank)
        return float(torch.linalg.svdvals(H.double())[0])
    return float(np.sqrt(max(float(top[0]), 0.0)))


def gram_stable_rank(gram: Tensor) -> float:
    """The stable rank of H from its Gram matrix ``H^T H`` (h, h), which can be summed
    over row blocks of H."""
    eigenvalues = torch.linalg.eigvalsh(gram.double())
    return float(eigenvalues.sum() / eigenvalues[-1].clamp_min(1e-300))


@dataclass(frozen=True)
class ClassifierStatistics:
    """Mean cross-entropy ``loss`` and ``accuracy`` of a classifier on a data set, and
    (when asked for) the stable rank of its hidden features."""

    loss: float
    accuracy: float
    stable_rank: float | None = None


def classifier_statistics(net: PReLUNet, x: Tensor, y: Tensor, with_stable_rank: bool = False,
                          chunk: int = 10000) -> ClassifierStatistics:
    """Loss, accuracy and (``with_stable_rank``) the stable rank of the hidden features
    (n, width) of a multi-class net on x (n, D), y (n,) class indices, in one pass over
    chunks of rows: up to :data:`GRAM_WIDTH` hidden units from the Gram matrix formed in
    the net's product dtype (bf16: within ~5e-5, relative, of float64's), wider from the
    features kept whole (:func:`stable_rank`)."""
    losses, correct, gram = 0.0, 0, 0.0
    keep = with_stable_rank and net.width > GRAM_WIDTH
    kept: list[Tensor] = []
    with torch.no_grad():
        for s in range(0, len(y), chunk):
            h = net.features(x[s:s + chunk])
            logits = h @ net.v.T + net.b if net.b is not None else h @ net.v.T
            losses += float(torch.nn.functional.cross_entropy(logits, y[s:s + chunk], reduction="sum"))
            correct += int((logits.argmax(1) == y[s:s + chunk]).sum())
            if keep:
                kept.append(h)
            elif with_stable_rank:
                gram = gram + matmul_in(h.T, h, net.product_dtype)
    if not with_stable_rank:
        rank = None
    else:  # one chunk (the usual case) is not copied
        rank = stable_rank(kept[0] if len(kept) == 1 else torch.cat(kept)) if keep else gram_stable_rank(gram)
    return ClassifierStatistics(losses / len(y), correct / len(y), rank)


def correlation_image(x: torch.Tensor, labels: torch.Tensor, size: int = 500) -> np.ndarray:
    """Cosines between the centred, normalised inputs ``x`` (m, D) sorted by ``labels``
    (m,) (m, m), block-averaged to at most ``size`` x ``size`` so the panel is one small
    image (float16)."""
    order = torch.argsort(labels, stable=True)
    z = x[order] - x.mean(0)
    z = z / z.norm(dim=1, keepdim=True)
    m = len(z)
    block = max(1, -(-m // size))
    cos = z @ z.T
    cut = (m // block) * block
    pooled = cos[:cut, :cut].reshape(cut // block, block, cut // block, block).mean((1, 3))
    return pooled.numpy().astype(np.float16)
