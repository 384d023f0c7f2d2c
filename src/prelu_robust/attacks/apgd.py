"""AutoAttack's APGD-CE on a multi-class classifier, and its robust-accuracy curve.

APGD-CE is AutoAttack's own (``pyautoattack``), unchanged. On a :class:`PReLUNet`
it may run with the first layer's product in a lower precision; every verdict is
then taken in the parameters' precision (float32), and a point the low-precision
net calls broken but float32 does not is attacked again in float32, so that no
success is lost to the rounding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch
from pyautoattack import AutoAttack

from ..models import products_in
from .curve import accuracy_over_radii

__all__ = ["NORMS", "correct", "apgd_ce", "apgd_curve"]

Tensor = torch.Tensor

#: The norms AutoAttack attacks in.
NORMS = ("Linf", "L2", "L1")


def correct(net: torch.nn.Module, x: Tensor, y: Tensor, batch_size: int) -> Tensor:
    """Which points (n,) bool ``net`` (logits (n, classes)) classifies correctly."""
    with torch.no_grad():
        return torch.cat([torch.zeros(0, dtype=torch.bool, device=y.device)]
                         + [net(x[s:s + batch_size]).argmax(1) == y[s:s + batch_size]
                            for s in range(0, len(y), batch_size)])


def apgd_ce(net: torch.nn.Module, x: Tensor, y: Tensor, norm: str, eps: float, seed: int,
            batch_size: int, device: torch.device, product_dtype: torch.dtype | None = None) -> Tensor:
    """AutoAttack's APGD-CE ('standard' version: 100 iterations; 1 restart for
    Linf/L2, 5 for L1) on x (n, D), y (n,). Returns which points (n,) bool stay
    correct, judged in the parameters' precision. Any classifier module will do.

    With ``product_dtype`` (``net`` a :class:`~prelu_robust.models.PReLUNet`) the attack
    runs on the net with its first-layer product in that precision; see the module
    docstring for how its verdicts stay exact."""
    if eps == 0 or len(y) == 0:
        return correct(net, x, y, batch_size)
    with products_in(net, product_dtype) if product_dtype is not None else contextlib.nullcontext():
        attack = AutoAttack(net, norm=norm, eps=eps, version="standard", device=str(device), seed=seed)
        attack.attacks_to_run = ["apgd-ce"]
        attack.verbose = False
        x_adv, _ = attack.run_standard_evaluation(x, y, batch_size=batch_size)
        fooled_low = ~correct(net, x_adv, y, batch_size) if product_dtype is not None else None
    kept = correct(net, x_adv, y, batch_size)
    if fooled_low is not None and bool((refuted := fooled_low & kept).any()):
        idx = torch.nonzero(refuted).squeeze(1)
        kept[idx] = apgd_ce(net, x[idx], y[idx], norm, eps, seed, batch_size, device)
    return kept


def apgd_curve(net: torch.nn.Module, x: Tensor, y: Tensor, radii: Sequence[float], seed: int, batch_size: int,
               device: torch.device, norm: str = "Linf", show_progress: bool = False,
               product_dtype: torch.dtype | None = None) -> np.ndarray:
    """APGD-CE accuracy at each radius (len(radii),) in one norm, radius i attacked with
    seed ``seed + i``. Only the survivors of the previous radius are attacked (see
    :func:`~prelu_robust.attacks.curve.accuracy_over_radii`): the same verdicts as
    attacking every point anew, or stronger. Radius 0 is clean accuracy."""
    def verdicts(rows: Tensor, i: int, eps: float) -> Tensor:
        return apgd_ce(net, x[rows], y[rows], norm, eps, seed + i, batch_size, device, product_dtype)

    return accuracy_over_radii(len(y), radii, verdicts, survivors_only=True, device=x.device,
                               desc=f"APGD-CE {norm}" if show_progress else None).numpy()
