"""Attacks and robust-accuracy curves.

- :mod:`.pgd`: l2 PGD on a binary classifier ``sign f`` (the paper's reference
  attack and a strong variant), in any space of :mod:`prelu_robust.spaces`;
- :mod:`.apgd`: AutoAttack's APGD-CE on a multi-class classifier;
- :mod:`.curve`: accuracy over a grid of radii from either attack's verdicts.
"""

from .apgd import NORMS, apgd_ce, apgd_curve, correct
from .curve import accuracy_over_radii
from .pgd import L2Attack, ZeroStartRuns, random_in_ball, robust_accuracy_curve, still_correct

__all__ = ["L2Attack", "ZeroStartRuns", "random_in_ball", "still_correct", "robust_accuracy_curve",
           "NORMS", "correct", "apgd_ce", "apgd_curve", "accuracy_over_radii"]
