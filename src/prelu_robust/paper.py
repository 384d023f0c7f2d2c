"""The paper's numbers (read off its plots and poster, see SPEC.md), kept in one
place so every page compares against the same values."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["SYNTHETIC_EPS", "SYNTHETIC_CLUSTERS", "SYNTHETIC_ROBUST", "SYNTHETIC_BREAKING", "SYNTHETIC_DIST_P1",
           "SYNTHETIC_DIST_P3", "SYNTHETIC_DIST_P3_BAND", "SYNTHETIC_ALPHAS", "mv25_bound", "is_synthetic_setting", "MNIST_EPS", "MNIST_CLASSES", "MNIST_ROBUST",
           "TABLE1", "MNIST_TABLE1", "is_mnist_grid"]


def _same_grid(eps: Sequence[float], paper_eps: np.ndarray) -> bool:
    eps = np.asarray(eps, dtype=float)
    return eps.shape == paper_eps.shape and bool(np.allclose(eps, paper_eps))


#: Section 5.1 radii, ``linspace(0, 1.5, 15)``.
SYNTHETIC_EPS = np.linspace(0.0, 1.5, 15)

#: (K, K1) of the paper's Section 5.1 figure: its numbers are for this setting only.
SYNTHETIC_CLUSTERS = (10, 6)

#: Robust accuracy of the K=10, K1=6 models under the reference l2 PGD (+-0.005).
SYNTHETIC_ROBUST = {
    1.0: np.array([1, 1, 1, .09, .01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], float),
    3.0: np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, .48, .045, .045, .045, .045, .045], float),
}

#: The grid interval (lo, hi] where the reference-attack accuracy falls below 0.5.
SYNTHETIC_BREAKING = {1.0: (0.214, 0.321), 3.0: (0.857, 0.964)}

#: dist(f_1, F) rises about linearly from ~0.028 (alpha=0.01) to ~0.090 (alpha=0.3), +-3%.
SYNTHETIC_DIST_P1 = (0.028, 0.090)
#: dist(f_3, F^(3)) stays between ~0.8e-5 and ~2.7e-5 (band 0.5e-5 .. 4.8e-5).
SYNTHETIC_DIST_P3 = (0.8e-5, 2.7e-5)
SYNTHETIC_DIST_P3_BAND = (0.5e-5, 4.8e-5)
#: Section 5.1 noise levels, ``linspace(0.01, 0.3, 15)``.
SYNTHETIC_ALPHAS = np.linspace(0.01, 0.3, 15)


def mv25_bound(n_clusters: int, n_positive: int) -> float:
    """MV25 Prop. 1: no classifier is more robust than ``1 - min(K1, K2)/K`` at
    l2 radius >= sqrt(2)/2 (clusters lie sqrt(2) apart)."""
    return 1.0 - min(n_positive, n_clusters - n_positive) / n_clusters

def is_synthetic_setting(n_clusters: int, n_positive: int, eps_grid: Sequence[float]) -> bool:
    """Whether a Section 5.1 run has the setting and radii the paper's numbers are for."""
    return (n_clusters, n_positive) == SYNTHETIC_CLUSTERS and _same_grid(eps_grid, SYNTHETIC_EPS)


#: MNIST (ten classes; the poster's panel), Linf APGD-CE robust accuracy at the
#: radii of ``linspace(0, 0.2, 15)`` the poster gives (others NaN).
MNIST_EPS = np.linspace(0.0, 0.2, 15)
#: The MNIST numbers (poster and Table 1) are for ten classes.
MNIST_CLASSES = 10
_nan = float("nan")
MNIST_ROBUST = {
    1.0: np.array([.981, .942, .846, .642, .387, .204, .098, .041, .013, _nan, 0, _nan, _nan, _nan, 0]),
    2.0: np.array([.981, .965, .934, .883, .791, .654, .495, .347, .230, _nan, .086, _nan, _nan, _nan, .007]),
    3.0: np.array([.981, .97, .948, .915, .860, .773, .654, .522, .390, _nan, .195, _nan, _nan, _nan, .029]),
    4.0: np.array([.981, .969, .954, .930, .891, .829, .743, .637, .530, _nan, .349, _nan, _nan, _nan, .075]),
}
#: Table 1's attacks: (norm, eps) pairs, APGD-CE ('standard': L1 uses 5 restarts).
TABLE1 = (("Linf", 0.05), ("Linf", 0.1), ("L2", 1.0), ("L2", 2.0), ("L1", 5.0), ("L1", 10.0))
#: Table 1: robust accuracy for p=1 and p=4 (the paper's endpoints), in the order of ``TABLE1``.
MNIST_TABLE1 = {1.0: (.512, .040, .301, .007, .500, .098), 4.0: (.913, .637, .775, .239, .807, .402)}


def is_mnist_grid(n_class: int, eps_grid: Sequence[float]) -> bool:
    """Whether an MNIST page has the task and Linf radii of the paper's numbers."""
    return n_class == MNIST_CLASSES and _same_grid(eps_grid, MNIST_EPS)
