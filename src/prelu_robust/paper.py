"""The paper's numbers (read off its plots and poster, see SPEC.md), kept in one
place so every page compares against the same values."""

from __future__ import annotations

import numpy as np

#: Section 5.1 radii, ``linspace(0, 1.5, 15)``.
SYNTHETIC_EPS = np.linspace(0.0, 1.5, 15)

#: Robust accuracy of the K=10, K1=6 models under the reference l2 PGD (+-0.005).
SYNTHETIC_ROBUST = {
    1.0: np.array([1, 1, 1, .09, .01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], float),
    3.0: np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, .48, .045, .045, .045, .045, .045], float),
}

#: dist(f_1, F) rises about linearly from ~0.028 (alpha=0.01) to ~0.090 (alpha=0.3), +-3%.
SYNTHETIC_DIST_P1 = (0.028, 0.090)
#: dist(f_3, F^(3)) stays between ~0.8e-5 and ~2.7e-5 (band 0.5e-5 .. 4.8e-5).
SYNTHETIC_DIST_P3 = (0.8e-5, 2.7e-5)


def mv25_bound(n_clusters: int, n_positive: int) -> float:
    """MV25 Prop. 1: no classifier is more robust than ``1 - min(K1, K2)/K`` at
    l2 radius >= sqrt(2)/2 (clusters lie sqrt(2) apart)."""
    return 1.0 - min(n_positive, n_clusters - n_positive) / n_clusters

#: MNIST (ten classes; the poster's panel), Linf APGD-CE robust accuracy at the
#: radii of ``linspace(0, 0.2, 15)`` the poster gives (others NaN).
MNIST_EPS = np.linspace(0.0, 0.2, 15)
_nan = float("nan")
MNIST_ROBUST = {
    1.0: np.array([.981, .942, .846, .642, .387, .204, .098, .041, .013, _nan, 0, _nan, _nan, _nan, 0]),
    2.0: np.array([.981, .965, .934, .883, .791, .654, .495, .347, .230, _nan, .086, _nan, _nan, _nan, .007]),
    3.0: np.array([.981, .97, .948, .915, .860, .773, .654, .522, .390, _nan, .195, _nan, _nan, _nan, .029]),
    4.0: np.array([.981, .969, .954, .930, .891, .829, .743, .637, .530, _nan, .349, _nan, _nan, _nan, .075]),
}
#: Table 1: robust accuracy for p=1 and p=4 (the paper's endpoints), in the order of
#: ``experiments.mnist.TABLE1``.
MNIST_TABLE1 = {1.0: (.512, .040, .301, .007, .500, .098), 4.0: (.913, .637, .775, .239, .807, .402)}
