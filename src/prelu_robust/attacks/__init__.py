"""Attacks and robust-accuracy curves.

- :mod:`.pgd`: l2 PGD on a binary classifier ``sign f`` (the paper's attack as
  written, normalised exactly, and a strong variant), in any space of :mod:`prelu_robust.spaces`;
- :mod:`.apgd`: AutoAttack's APGD-CE on a multi-class classifier;
- :mod:`.curve`: accuracy over a grid of radii from either attack's verdicts;
- :mod:`.evaluate`: clean and APGD-CE robust accuracy of any given classifier, in one call.
"""

from .apgd import NORMS, apgd_ce, apgd_curve, correct
from .curve import accuracy_over_radii
from .evaluate import Evaluation, evaluate
from .pgd import (GUARD, VARIANTS, Centres, L2Attack, ZeroStartRuns, as_written, exact, random_in_ball,
                  robust_accuracy_curve, still_correct, strong, written_share)

__all__ = ["L2Attack", "GUARD", "VARIANTS", "as_written", "exact", "strong", "written_share", "Centres", "ZeroStartRuns", "random_in_ball", "still_correct", "robust_accuracy_curve",
           "NORMS", "correct", "apgd_ce", "apgd_curve", "accuracy_over_radii", "Evaluation", "evaluate"]
