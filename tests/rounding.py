"""Tolerances derived from the rounding, not from one machine.

A plain pReLU net's score is a sum of ``h`` units, each built from a dot product of
``D`` terms. Whatever the order of the sums (BLAS kernels differ between CPUs), the
forward error of recursive summation is at most ``(n - 1) u sum |terms|`` (u the unit
roundoff), and each unit ``v_j ||w_j|| relu(<x, w_j/||w_j||>)^p`` is at most its
contribution times ``||x||^p``. So two computations of the same score differ by at most
``p (D + h + slack) u ||x||^p sum_j contributions_j``: the bound below, per point.
"""

import torch

from prelu_robust import neurons
from prelu_robust.models import PReLUNet

#: Rounded operations besides the two sums: powers, scalings, the basis change.
SLACK = 16


def score_bound(net: PReLUNet, x: torch.Tensor, *, derivative: bool = False) -> torch.Tensor:
    """Largest rounding difference (n,) of two orders of evaluating ``net`` at x (n, D);
    ``derivative``: of its input gradient (one power of ||x|| less, one factor p more)."""
    W, v = net.W.detach(), net.v.detach()
    total = float(neurons.contributions(W, v).sum())
    u = torch.finfo(x.dtype).eps
    power = net.p - 1.0 if derivative else net.p
    factor = net.p * (net.p if derivative else 1.0)
    return factor * (W.shape[1] + W.shape[0] + SLACK) * u * total * x.norm(dim=1).clamp_min(1.0).pow(power)


def assert_within(actual: torch.Tensor, expected: torch.Tensor, bound: torch.Tensor) -> None:
    """Every entry within its bound (a row's bound for every column of a 2-d array)."""
    gap = (actual - expected).detach().abs()
    if gap.dim() == 2:
        gap = gap.amax(1)
    worst = float((gap / bound).max())
    assert worst <= 1.0, f"difference {worst:.2g} times the rounding bound"
