"""Robust accuracy over a grid of radii, from any attack's verdicts."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..progress import progress

__all__ = ["Verdicts", "accuracy_over_radii"]

Tensor = torch.Tensor
Verdicts = Callable[[Tensor, int, float], Tensor]
"""(rows (m,) indices of the points to attack, radius index i, radius eps) -> which of
them (m,) bool are still correctly classified after the attack."""


def accuracy_over_radii(n_points: int, radii: Sequence[float], verdicts: Verdicts, *, survivors_only: bool,
                        device: torch.device | str = "cpu", desc: str | None = None) -> Tensor:
    """The fraction of ``n_points`` still correct at each radius, shape (len(radii),) float64.

    Radii are visited in increasing order. ``survivors_only``: a point broken at a
    smaller radius is broken at every larger one (its adversarial point stays
    admissible), so only the survivors are attacked: exact for the verdict "some
    adversarial point exists". Otherwise every point is attacked at every radius on
    its own (what the paper's reference attack reports). ``desc`` shows a progress bar.
    """
    accuracy = torch.empty(len(radii), dtype=torch.float64)
    alive = torch.ones(n_points, dtype=torch.bool, device=device)
    order = sorted(range(len(radii)), key=lambda j: radii[j])
    for i in progress(order, desc=desc or "", enabled=desc is not None):
        rows = torch.nonzero(alive).squeeze(1) if survivors_only else torch.arange(n_points, device=device)
        kept = verdicts(rows, i, float(radii[i]))
        if survivors_only:
            alive[rows[~kept]] = False
            accuracy[i] = alive.double().mean()
        else:
            accuracy[i] = kept.double().mean()
    return accuracy
