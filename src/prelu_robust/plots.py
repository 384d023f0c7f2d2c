"""The paper's panels, drawn from stored results only (nothing here computes)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import paper
from .experiments.synthetic import SyntheticResults

COLORS = {1.0: "tab:blue", 2.0: "tab:green", 3.0: "tab:red", 4.0: "tab:purple"}


def color_of(p: float) -> str:
    return COLORS.get(float(p), "tab:gray")


def band(ax: Axes, x: np.ndarray, runs: np.ndarray, label: str, color: str, **line) -> None:
    """Mean line and min-max band of ``runs`` (repeats, len(x)) against x."""
    runs = np.asarray(runs, float)
    ax.plot(x, runs.mean(0), color=color, label=label, **line)
    ax.fill_between(x, runs.min(0), runs.max(0), color=color, alpha=0.2, linewidth=0)


def distance_panel(ax: Axes, r: SyntheticResults) -> None:
    """(a) dist(f_p, ideal) against alpha, log scale; dashed: the paper's range."""
    alphas = np.asarray(r.config.alphas)
    for pi, p in enumerate(r.config.powers):
        target = "F" if p <= 2 else f"F^{{({p:g})}}"
        band(ax, alphas, r.distance[pi].T, rf"$\mathrm{{dist}}(f_{{{p:g}}}, {target})$", color_of(p), marker="o", ms=3)
    if r.config.n_clusters == 10:
        ax.plot(alphas[[0, -1]], paper.SYNTHETIC_DIST_P1, "--", color=color_of(1), lw=1, label="paper, p=1")
        ax.plot(alphas[[0, -1]], paper.SYNTHETIC_DIST_P3, "--", color=color_of(3), lw=1, label="paper, p=3")
    ax.set(yscale="log", xlabel=r"noise level $\alpha$", ylabel="distance (Algorithm 1)",
           title="(a) distance to the ideal classifier")
    ax.legend(fontsize=7)


def contribution_panel(ax: Axes, r: SyntheticResults, shown: dict[float, int] | None = None) -> None:
    """(b) sorted neuron contributions |v_j| ||w_j|| (top 300 for p=1, 50 otherwise)."""
    for pi, p in enumerate(r.config.powers):
        k = (shown or {}).get(p, 300 if p <= 2 else 50)
        c = r.contributions[pi][:k]
        ax.plot(np.arange(1, len(c) + 1), c, ".-", ms=3, lw=0.8, color=color_of(p), label=f"p={p:g}")
    ax.set(yscale="log", xscale="log", xlabel="neuron rank", ylabel=r"$|v_j|\,\|w_j\|$",
           title="(b) neuron contributions")
    ax.legend(fontsize=7)


def cosine_panel(ax: Axes, r: SyntheticResults, p: float, n_neurons: int | None = None) -> None:
    """(c, d) cosines between dominant neurons (columns) and mu_+, mu_-, mu_k (rows)."""
    pi = list(r.config.powers).index(p)
    n_neurons = n_neurons or (300 if p <= 2 else 50)
    cos = r.cosines[pi][:n_neurons].T
    image = ax.imshow(cos, cmap="gray", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    labels = [r"$\mu_+$", r"$\mu_-$"] + [rf"$\mu_{{{k + 1}}}$" for k in range(r.config.n_clusters)]
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    ax.set(xlabel=f"dominant neurons (top {cos.shape[1]}, by contribution)",
           title=f"({'c' if p <= 2 else 'd'}) cosine of neurons, p={p:g}")
    plt.colorbar(image, ax=ax, fraction=0.03)


def robust_panel(ax: Axes, r: SyntheticResults) -> None:
    """(e) robust accuracy against the l2 radius, reference and strong attacks."""
    cfg = r.config
    eps = np.asarray(cfg.eps_grid)
    for pi, p in enumerate(cfg.powers):
        c = color_of(p)
        band(ax, eps, r.robust_reference[pi], f"p={p:g}, reference PGD", c, marker="o", ms=3)
        band(ax, eps, r.robust_strong[pi], f"p={p:g}, strong PGD", c, ls=":", marker="s", ms=2)
        ax.plot(eps, r.robust_ideal[pi], color=c, lw=0.8, ls="-.", alpha=0.7,
                label=("F" if p <= 2 else f"F^({p:g})") + ", reference PGD")
        if cfg.n_clusters == 10 and cfg.n_positive == 6 and p in paper.SYNTHETIC_ROBUST \
                and len(eps) == 15 and np.allclose(eps, paper.SYNTHETIC_EPS):
            ax.plot(eps, paper.SYNTHETIC_ROBUST[p], "x", color=c, ms=5, label=f"paper, p={p:g}")
    ax.axvline(1 / math.sqrt(cfg.n_clusters), color="k", ls="--", lw=0.8)
    ax.axvline(math.sqrt(2) / 2, color="k", ls="--", lw=0.8)
    bound = paper.mv25_bound(cfg.n_clusters, cfg.n_positive)
    ax.hlines(bound, math.sqrt(2) / 2, eps.max(), color="k", lw=1.5, label=f"MV25 bound {bound:.2f}")
    ax.text(1 / math.sqrt(cfg.n_clusters), 0.02, r" $1/\sqrt{K}$", fontsize=8)
    ax.text(math.sqrt(2) / 2, 0.02, r" $\sqrt{2}/2$", fontsize=8)
    ax.set(xlabel=r"$\ell_2$ radius $\varepsilon$", ylabel="robust accuracy", ylim=(-0.02, 1.02),
           title=rf"(e) robust accuracy, models at $\alpha={cfg.alphas[0]:g}$")
    ax.legend(fontsize=6, loc="upper right")


def synthetic_figure(r: SyntheticResults) -> Figure:
    """All five panels of the Section 5.1 figure."""
    fig = plt.figure(figsize=(13, 8), layout="constrained")
    grid = fig.add_gridspec(2, 3)
    distance_panel(fig.add_subplot(grid[0, 0]), r)
    contribution_panel(fig.add_subplot(grid[0, 1]), r)
    robust_panel(fig.add_subplot(grid[0, 2]), r)
    powers = list(r.config.powers)
    cosine_panel(fig.add_subplot(grid[1, :2] if len(powers) > 1 else grid[1, :]), r, powers[0])
    if len(powers) > 1:
        cosine_panel(fig.add_subplot(grid[1, 2]), r, powers[-1])
    return fig
