"""The neurons of a trained net: their contributions, which of them dominate, and
groups of them that point the same way.

A hidden unit of :class:`~prelu_robust.models.PReLUNet` is
``v_j ||w_j|| relu(<x, w_j/||w_j||>)^p``, so its *contribution* ``|v_j| ||w_j||``
bounds its share of the output on the unit sphere. After small-initialisation
training a few neurons carry almost all of it; the rest stay at their initial scale.
"""

from __future__ import annotations

import numpy as np
import torch

from .models import PReLUNet
from .validation import require

__all__ = ["contributions", "dominant", "dominant_mask", "COVERAGE_COSINE", "covered_centres", "alignment_scores", "largest",
           "direction_groups", "merge_by_direction"]

Tensor = torch.Tensor


def contributions(W: Tensor, v: Tensor) -> Tensor:
    """``|v_j| ||w_j||`` for W (h, D), v (h,) or (out, h): shape (h,)."""
    v = v.reshape(-1, W.shape[0])
    return v.norm(dim=0) * W.norm(dim=1)


def dominant_mask(contribution: Tensor, tol: float) -> Tensor:
    """Which neurons (h,) bool carry at least ``tol`` times the largest ``contribution`` (h,).
    The one definition of "dominant" in the library."""
    return contribution >= tol * contribution.max()


def dominant(contribution: Tensor, tol: float) -> Tensor:
    """Indices (m,) of the dominant neurons (see :func:`dominant_mask`), in index order."""
    return torch.nonzero(dominant_mask(contribution, tol)).squeeze(1)


#: A centre counts as covered when a dominant neuron's cosine with it exceeds this.
COVERAGE_COSINE = 0.95


def covered_centres(cosines: Tensor | np.ndarray, threshold: float = COVERAGE_COSINE) -> np.ndarray:
    """Which centres mu_1..mu_K (K,) bool some neuron points at, cosine above ``threshold``.
    ``cosines`` (m, K + 2): each neuron's cosines with mu_+, mu_-, mu_1..mu_K, the layout the
    synthetic runs store."""
    return np.asarray(cosines)[:, 2:].max(0) > threshold


def alignment_scores(cosines: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """How the neurons of ``cosines`` (m, K + 2; the layout of :func:`covered_centres`) are
    aligned, as (with the subclass centres, with the class averages): the ``weights``
    (m,)-weighted mean over the neurons of each one's largest cosine with a centre mu_k,
    and with mu_+ or mu_-. A centre of the + class has cosine 1/sqrt(K1) with mu_+, one of
    the - class 1/sqrt(K - K1) with mu_-: class-average neurons (p = 1's limit) score
    (between those, 1), subclass-centre neurons (p > 2) (1, between those)."""
    cosines, weights = np.asarray(cosines, float), np.asarray(weights, float)
    require(cosines.ndim == 2 and cosines.shape[1] > 2 and weights.shape == cosines.shape[:1] and weights.sum() > 0,
            "cosines and weights", (cosines.shape, weights.shape), "shapes (m, K + 2) and (m,) with a positive weight")
    share = weights / weights.sum()
    return float(share @ cosines[:, 2:].max(1)), float(share @ cosines[:, :2].max(1))


def largest(W: Tensor, v: Tensor, k: int) -> Tensor:
    """Indices (k,) of the ``k`` neurons with the largest contributions, largest first."""
    return torch.argsort(contributions(W, v), descending=True)[:k]


def direction_groups(W: Tensor, v: Tensor, cos_tol: float, *, same_sign: bool = True) -> Tensor:
    """Each neuron's group (h,) long: neurons whose direction has cosine above ``1 - cos_tol``
    with a group's leading neuron join it (greedily, largest contribution ``|v_j| ||w_j||``
    first; with ``same_sign``, only when their output weights v (h,) agree in sign).
    Groups are numbered in the order their leaders are found; W is (h, D)."""
    contribution = contributions(W, v)
    directions = W / W.norm(dim=1, keepdim=True).clamp_min(1e-30)
    group = torch.empty(len(v), dtype=torch.long)
    leaders: list[int] = []
    for j in torch.argsort(contribution, descending=True).tolist():
        for g, lead in enumerate(leaders):
            if (not same_sign or v[j] * v[lead] > 0) and float(directions[j] @ directions[lead]) > 1 - cos_tol:
                group[j] = g
                break
        else:
            group[j] = len(leaders)
            leaders.append(j)
    return group


def merge_by_direction(net: PReLUNet, cos_tol: float = 1e-3) -> PReLUNet:
    """A smaller net whose units are groups of neurons pointing the same way.

    Units are 1-homogeneous in w, so neurons with equal directions and equal signs
    of v add up exactly. Neurons whose cosine with a group's leading neuron exceeds
    ``1 - cos_tol`` join it (:func:`direction_groups`); a group becomes one unit of
    norm 1 along its contribution-weighted mean direction. After small-init training
    a p=1 net's hundreds of neurons collapse to a handful: a cheap surrogate to steer
    attack steps, never to judge them.
    """
    net.check_plain()
    W, v = net.W.detach(), net.v.detach()[0]
    contribution = contributions(W, v)
    directions = W / W.norm(dim=1, keepdim=True).clamp_min(1e-30)
    group = direction_groups(W, v, cos_tol)
    k = int(group.max()) + 1
    summed = torch.zeros(k, W.shape[1], dtype=W.dtype).index_add_(0, group, directions * contribution[:, None])
    weight = torch.zeros(k, dtype=W.dtype).index_add_(0, group, contribution * torch.sign(v))
    merged = PReLUNet(W.shape[1], k, net.p, bias=net.b is not None).to(W.device, W.dtype)
    with torch.no_grad():
        merged.W.copy_(summed / summed.norm(dim=1, keepdim=True))
        merged.v.copy_(weight[None, :])
        if net.b is not None:
            merged.b.copy_(net.b)
    return merged
