"""Datasets: the synthetic Gaussian mixture and real MNIST."""

from .gmm import MixtureSpec, Samples, sample_mixture

__all__ = ["MixtureSpec", "Samples", "sample_mixture"]
