"""Orthonormal Gaussian mixtures: the synthetic data of Section 5.1.

K clusters with centres ``mu_k = e_k`` in R^D; a sample of cluster k is
``mu_k + N(0, alpha^2 I / D)``, so its noise has norm close to ``alpha``. The
first ``K1`` clusters carry label +1, the others -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..validation import require

__all__ = ["MixtureSpec", "Samples", "sample_mixture"]


@dataclass(frozen=True)
class MixtureSpec:
    """Geometry of the mixture: dimension ``dim`` (D), ``n_clusters`` (K),
    ``n_positive`` (K1) clusters labelled +1 and noise level ``alpha``."""

    dim: int
    n_clusters: int
    n_positive: int
    alpha: float

    def __post_init__(self) -> None:
        require(isinstance(self.n_clusters, int) and self.n_clusters >= 2,
                "n_clusters", self.n_clusters, "an integer >= 2")
        require(isinstance(self.dim, int) and self.dim >= self.n_clusters,
                "dim", self.dim, f"an integer >= n_clusters={self.n_clusters} (centres are orthonormal)")
        require(isinstance(self.n_positive, int) and 1 <= self.n_positive < self.n_clusters,
                "n_positive", self.n_positive, f"an integer in [1, n_clusters-1] = [1, {self.n_clusters - 1}]")
        require(self.alpha >= 0, "alpha", self.alpha, "a number >= 0")

    @property
    def n_negative(self) -> int:
        return self.n_clusters - self.n_positive

    def centers(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Cluster centres ``mu_k = e_k``, shape (K, D)."""
        return torch.eye(self.n_clusters, self.dim, dtype=dtype)

    def cluster_labels(self) -> torch.Tensor:
        """Label of each cluster, shape (K,), entries +-1."""
        labels = -torch.ones(self.n_clusters)
        labels[: self.n_positive] = 1.0
        return labels

    def class_means(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Rows ``mu_+ = sum_{k<=K1} mu_k`` and ``mu_- = sum_{k>K1} mu_k``, shape (2, D)."""
        mu = self.centers(dtype)
        return torch.stack([mu[: self.n_positive].sum(0), mu[self.n_positive:].sum(0)])

    def reference_directions(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Unit vectors ``mu_+/|mu_+|, mu_-/|mu_-|, mu_1, ..., mu_K``, shape (K+2, D):
        the columns of the paper's cosine maps."""
        means = self.class_means(dtype)
        means = means / means.norm(dim=1, keepdim=True)
        return torch.cat([means, self.centers(dtype)])


@dataclass(frozen=True)
class Samples:
    """A labelled sample: ``x`` (n, D), ``y`` (n,) in {-1,+1}, ``cluster`` (n,) in [0, K)."""

    x: torch.Tensor
    y: torch.Tensor
    cluster: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]


def sample_mixture(spec: MixtureSpec, n: int, seed: int, balanced: bool = False,
                   dtype: torch.dtype = torch.float32) -> Samples:
    """Draw ``n`` points of the mixture.

    ``balanced=False`` draws each point's cluster uniformly at random (the
    reference code); ``balanced=True`` gives every cluster ``n // K`` points (the
    first ``n % K`` clusters one more), in shuffled order.
    """
    require(isinstance(n, int) and n >= 1, "n", n, "an integer >= 1")
    gen = torch.Generator().manual_seed(int(seed))
    K = spec.n_clusters
    if balanced:
        cluster = torch.arange(n) % K
        cluster = cluster[torch.randperm(n, generator=gen)]
    else:
        cluster = torch.randint(K, (n,), generator=gen)
    x = torch.randn(n, spec.dim, generator=gen, dtype=torch.float64).mul_(spec.alpha / spec.dim**0.5)  # in place
    x[torch.arange(n), cluster] += 1.0
    y = spec.cluster_labels()[cluster]
    return Samples(x.to(dtype), y.to(dtype), cluster)
