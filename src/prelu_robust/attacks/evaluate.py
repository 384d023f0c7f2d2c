"""Clean and robust accuracy of any given classifier in one call.

    from prelu_robust.attacks import evaluate
    result = evaluate(net, x_test, y_test, "Linf", [0.05, 0.1])
    print(result.markdown())

The attack is AutoAttack's APGD-CE (:func:`~.apgd.apgd_curve`), as the MNIST pages run
it: only the survivors of a smaller radius are attacked at a larger one, radius ``i`` of
``eps`` with seed ``seed + i``. The MNIST experiment computes its curve and Table 1
with this function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..precision import PRODUCT_DTYPES, resolve_product_dtype
from ..validation import require, require_choice
from .apgd import NORMS, apgd_curve, correct

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` measured on ``n_points`` points: ``clean`` accuracy and
    ``robust`` accuracy (E,) at each of the ``radii`` (E,) in the ``norm``."""

    norm: str
    radii: tuple[float, ...]
    robust: np.ndarray
    clean: float
    n_points: int

    def markdown(self) -> str:
        """A two-row table: the radii, then the accuracy at each (radius 0: clean)."""
        radii, values = self.radii, tuple(self.robust)
        if 0.0 not in radii:
            radii, values = (0.0, *radii), (self.clean, *values)
        return "\n".join([f"| {self.norm} radius | " + " | ".join(f"{r:g}" for r in radii) + " |",
                          "|---|" + "---|" * len(radii),
                          f"| accuracy ({self.n_points} points) | " + " | ".join(f"{v:.3f}" for v in values) + " |"])


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, norm: str = "Linf",
             eps: float | Sequence[float] = (0.05, 0.1), *, seed: int = 0, batch_size: int = 1000,
             product_dtype: str | None = None, show_progress: bool = False) -> Evaluation:
    """Clean accuracy and APGD-CE robust accuracy of ``model`` on ``x`` (n, ...), ``y`` (n,).

    ``model`` maps a batch of ``x`` to logits (n, classes), on the device of ``x``; put it
    in eval mode first. ``norm``: "Linf", "L2" or "L1"; ``eps``: the radii (a lone
    number is one radius), in any order. ``product_dtype`` ("bfloat16", "float32" or
    "auto", for a :class:`~prelu_robust.models.PReLUNet` only) runs the attack with the
    first layer's product in that precision; every verdict stays in the parameters'
    precision (see :mod:`.apgd`). Bad arguments raise
    :class:`~prelu_robust.validation.ParameterError` before any attack runs.
    """
    radii = (eps,) if isinstance(eps, (int, float)) else tuple(eps)
    _check(model, x, y, norm, radii, batch_size)
    dtype = None
    if product_dtype is not None:
        dtype = PRODUCT_DTYPES[resolve_product_dtype(product_dtype, x.device.type)]
    clean = float(correct(model, x, y, batch_size).double().mean())
    robust = apgd_curve(model, x, y, [float(r) for r in radii], seed, batch_size, x.device, norm, show_progress,
                        dtype)
    return Evaluation(norm, tuple(float(r) for r in radii), robust, clean, len(y))


def _check(model: object, x: object, y: object, norm: str, radii: tuple, batch_size: object) -> None:
    """Every argument of :func:`evaluate`, before any computation."""
    require(isinstance(model, torch.nn.Module), "model", type(model).__name__, "a torch.nn.Module giving logits")
    require(isinstance(x, torch.Tensor) and x.ndim >= 2, "x", getattr(x, "shape", type(x).__name__),
            "a tensor of points (n, ...)")
    require(isinstance(y, torch.Tensor) and y.ndim == 1 and not y.is_floating_point(), "y",
            getattr(y, "dtype", type(y).__name__), "a 1-D tensor of integer labels")
    require(len(x) == len(y), "y", f"{len(y)} labels", f"one label per point ({len(x)})")
    require(y.device == x.device, "y", str(y.device), f"the device of x ({x.device})")
    require_choice("norm", norm, NORMS)
    require(len(radii) > 0 and all(isinstance(r, (int, float)) and not isinstance(r, bool) and math.isfinite(r)
                                   and r >= 0 for r in radii), "eps", radii, "one or more finite radii >= 0")
    require(isinstance(batch_size, int) and batch_size >= 1, "batch_size", batch_size, "an integer >= 1")
