"""Iterates that repeat: points stepped by a fixed map leave once they cycle.

PGD and Algorithm 1 step each point by a fixed computation of its own iterate, so a
point whose iterate equals the one k steps before cycles with period k from then on:
everything later (the margins and gaps it will reach, its iterate at the last step) is
known. :class:`Cycles` finds each point's cycle as in Brent's algorithm: the iterate is
compared with a saved one, saved anew (unless they match) after 1, 2, 4, ... steps, which
finds any period within a few periods of the cycle's start at the cost of one comparison
a step. A point whose cycle is found still takes the ``(steps - step) mod k`` steps (fewer
than k) that bring it to the iterate of the last step, then leaves.
"""

from __future__ import annotations

import torch

__all__ = ["Cycles"]

Tensor = torch.Tensor


class Cycles:
    """Brent's cycle search for n points side by side, iterates ``(a (n, r), s (n,))`` of
    a map applied ``steps`` times. ``last_step`` (n,) is the step whose iterate is each
    point's last: ``steps`` until its cycle is found."""

    def __init__(self, a: Tensor, s: Tensor, steps: int) -> None:
        self.steps = steps
        self.saved_a, self.saved_s = a.clone(), s.clone()
        self.since = torch.zeros(len(s), dtype=torch.long, device=s.device)
        self.horizon = torch.ones(len(s), dtype=torch.long, device=s.device)
        self.last_step = torch.full((len(s),), steps, dtype=torch.long, device=s.device)

    def saw(self, step: int, a: Tensor, s: Tensor) -> Tensor:
        """Record the iterates of ``step``; which points (n,) bool have it as their last."""
        self.since += 1
        repeat = (a == self.saved_a).all(dim=1) & (s == self.saved_s)
        found = repeat & (self.last_step == self.steps)
        self.last_step[found] = step + (self.steps - step) % self.since[found]
        renew = (self.since == self.horizon) & ~repeat
        self.saved_a[renew], self.saved_s[renew], self.since[renew] = a[renew], s[renew], 0
        self.horizon[renew] *= 2
        return self.last_step == step

    def keep(self, rows: Tensor) -> None:
        """Go on with the points ``rows`` (bool (n,) or indices) only."""
        self.saved_a, self.saved_s = self.saved_a[rows], self.saved_s[rows]
        self.since, self.horizon, self.last_step = self.since[rows], self.horizon[rows], self.last_step[rows]
