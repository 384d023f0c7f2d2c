"""The paper's panels and the sweep pages' figures, drawn from stored results only (nothing
here computes)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import paper
from .experiments.alignment import AlignmentTrajectory
from .experiments.caltech import CaltechResults
from .experiments.mnist import MnistResults
from .experiments.synthetic import VARIANTS_KIND, SyntheticConfig, SyntheticResults, VariantCurves
from .models import aligns_with_class_averages
from .sweep_results import SweepResults, alignment, breaking_radii

__all__ = ["color_of", "band", "distance_panel", "contribution_panel", "cosine_panel", "robust_panel",
           "synthetic_figure", "variants_figure", "alignment_snapshots_figure", "alignment_phases_figure", "alignment_animation",
           "probe_figure", "mnist_figure", "caltech_figure", "sweep_robust_figure", "sweep_summary_figure"]

COLORS = {1.0: "tab:blue", 2.0: "tab:green", 3.0: "tab:red", 4.0: "tab:purple"}


def color_of(p: float) -> str:
    return COLORS.get(float(p), "tab:gray")


def band(ax: Axes, x: np.ndarray, runs: np.ndarray, label: str, color: str, **line) -> None:
    """Mean line and min-max band of ``runs`` (repeats, len(x)) against x."""
    runs = np.asarray(runs, float)
    ax.plot(x, runs.mean(0), color=color, label=label, **line)
    ax.fill_between(x, runs.min(0), runs.max(0), color=color, alpha=0.2, linewidth=0)


def distance_panel(ax: Axes, r: SyntheticResults, variants: VariantCurves | None = None) -> None:
    """(a) dist(f_p, ideal) against alpha, log scale, each point ascending its own objective;
    with ``variants``, Algorithm 1 as written at the first alpha (min, mean, max over repeats);
    dashed: the paper's range."""
    alphas = np.asarray(r.config.alphas)
    for pi, p in enumerate(r.config.powers):
        target = "F" if aligns_with_class_averages(p) else f"F^{{({p:g})}}"
        band(ax, alphas, r.distance[pi].T, rf"$\mathrm{{dist}}(f_{{{p:g}}}, {target})$", color_of(p), marker="o", ms=3)
        if variants is not None:
            written = np.asarray(variants.distance_as_written[pi], float)
            ax.errorbar([alphas[0]], [written.mean()], yerr=[[written.mean() - written.min()], [written.max() - written.mean()]],
                        fmt="D", mfc="none", color=color_of(p), ms=5, capsize=2, label=f"p={p:g}, as written")
    if r.config.n_clusters == 10:
        ax.plot(alphas[[0, -1]], paper.SYNTHETIC_DIST_P1, "--", color=color_of(1), lw=1, label="paper, p=1")
        ax.plot(alphas[[0, -1]], paper.SYNTHETIC_DIST_P3, "--", color=color_of(3), lw=1, label="paper, p=3")
    ax.set(yscale="log", xlabel=r"noise level $\alpha$", ylabel="distance (Algorithm 1)",
           title="(a) distance to the ideal classifier")
    ax.legend(fontsize=7)


def contribution_panel(ax: Axes, r: SyntheticResults, shown: dict[float, int] | None = None) -> None:
    """(b) sorted neuron contributions |v_j| ||w_j|| (top 300 for p=1, 50 otherwise)."""
    for pi, p in enumerate(r.config.powers):
        k = (shown or {}).get(p, 300 if aligns_with_class_averages(p) else 50)
        c = r.contributions[pi][:k]
        ax.plot(np.arange(1, len(c) + 1), c, ".-", ms=3, lw=0.8, color=color_of(p), label=f"p={p:g}")
    ax.set(yscale="log", xscale="log", xlabel="neuron rank", ylabel=r"$|v_j|\,\|w_j\|$",
           title="(b) neuron contributions")
    ax.legend(fontsize=7)


def cosine_panel(ax: Axes, r: SyntheticResults, p: float, n_neurons: int | None = None) -> None:
    """(c, d) cosines between dominant neurons (columns) and mu_+, mu_-, mu_k (rows)."""
    pi = list(r.config.powers).index(p)
    n_neurons = n_neurons or (300 if aligns_with_class_averages(p) else 50)
    cos = r.cosines[pi][:n_neurons].T
    image = ax.imshow(cos, cmap="gray", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    labels = [r"$\mu_+$", r"$\mu_-$"] + [rf"$\mu_{{{k + 1}}}$" for k in range(r.config.n_clusters)]
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    ax.set(xlabel=f"dominant neurons (top {cos.shape[1]}, by contribution)",
           title=f"({'c' if aligns_with_class_averages(p) else 'd'}) cosine of neurons, p={p:g}")
    plt.colorbar(image, ax=ax, fraction=0.03)


#: How each attack variant is drawn.
VARIANT_LINES = {"as_written": dict(ls="-"), "exact": dict(ls="--"), "strong": dict(ls=":", lw=2)}


def robust_panel(ax: Axes, r: SyntheticResults, variants: VariantCurves | None = None) -> None:
    """(e) robust accuracy against the l2 radius: the three attack variants (``variants``:
    as written, exact, strong), else the runs' own exact and strong attacks."""
    cfg = r.config
    eps = np.asarray(cfg.eps_grid)
    for pi, p in enumerate(cfg.powers):
        c = color_of(p)
        if variants is None:
            band(ax, eps, r.robust_reference[pi], f"p={p:g}, reference PGD", c, marker="o", ms=3)
            band(ax, eps, r.robust_strong[pi], f"p={p:g}, strong PGD", c, ls=":", marker="s", ms=2)
        else:
            for name, line in VARIANT_LINES.items():
                band(ax, eps, variants.robust[name][pi], f"p={p:g}, {name.replace('_', ' ')}", c, **line)
        ax.plot(eps, r.robust_ideal[pi], color=c, lw=0.8, ls="-.", alpha=0.7,
                label=("F" if aligns_with_class_averages(p) else f"F^({p:g})") + ", reference PGD")
        if p in paper.SYNTHETIC_ROBUST and paper.is_synthetic_setting(cfg.n_clusters, cfg.n_positive, eps):
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


def variants_figure(curves: VariantCurves, config: SyntheticConfig) -> Figure:
    """Panel (e) once per p, with the three attack variants (band: min-max over repeats),
    the ideal classifier under the strong attack, the paper's values where it has them,
    and MV25's bound beyond sqrt(2)/2."""
    eps = np.asarray(config.eps_grid)
    fig, axes = plt.subplots(1, len(config.powers), figsize=(5 * len(config.powers), 3.6), squeeze=False)
    paper_grid = paper.is_synthetic_setting(config.n_clusters, config.n_positive, eps)
    bound = paper.mv25_bound(config.n_clusters, config.n_positive)
    for ax, (pi, p) in zip(axes[0], enumerate(config.powers)):
        for name, line in VARIANT_LINES.items():
            band(ax, eps, curves.robust[name][pi], name.replace("_", " "), color_of(p), **line)
        ax.plot(eps, curves.ideal["strong"][pi], color="k", lw=0.8, ls=":", label="ideal, strong")
        if paper_grid and p in paper.SYNTHETIC_ROBUST:
            ax.plot(eps, paper.SYNTHETIC_ROBUST[p], "o", mfc="none", color="k", ms=4, label="paper")
        ax.axvline(1 / math.sqrt(config.n_clusters), color="0.5", ls="--", lw=0.8)
        ax.axvline(math.sqrt(2) / 2, color="0.5", ls="--", lw=0.8)
        ax.hlines(bound, math.sqrt(2) / 2, eps.max(), color="k", lw=1.5, label=f"MV25 bound {bound:.2f}")
        ax.set(title=f"p = {p:g}", xlabel=r"$\ell_2$ radius $\varepsilon$", ylabel="robust accuracy",
               ylim=(-0.02, 1.02))
        ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return fig


def synthetic_figure(r: SyntheticResults, variants: VariantCurves | None = None) -> Figure:
    """All five panels of the Section 5.1 figure: the cosine maps of two powers share the
    bottom row as in the paper; with more powers, each has a row of its own. ``variants``:
    the attack variants of panel (e) and Algorithm 1 as written on panel (a)."""
    powers = list(r.config.powers)
    cosine_rows = 1 if len(powers) <= 2 else len(powers)
    fig = plt.figure(figsize=(13, 4 * (1 + cosine_rows)), layout="constrained")
    grid = fig.add_gridspec(1 + cosine_rows, 3)
    distance_panel(fig.add_subplot(grid[0, 0]), r, variants)
    contribution_panel(fig.add_subplot(grid[0, 1]), r)
    robust_panel(fig.add_subplot(grid[0, 2]), r, variants)
    if len(powers) == 2:
        cosine_panel(fig.add_subplot(grid[1, :2]), r, powers[0])
        cosine_panel(fig.add_subplot(grid[1, 2]), r, powers[1])
    else:
        for row, p in enumerate(powers, start=1):
            cosine_panel(fig.add_subplot(grid[row, :]), r, p)
    return fig


# -- neuron alignment figure ------------------------------------------------------
def _sphere(ax, run: AlignmentTrajectory, index: int, title: str) -> None:
    """Neuron directions on the unit sphere at snapshot ``index``: size by
    contribution |v_j| ||w_j|| (relative to the snapshot's largest), colour by sign of v_j."""
    ax.cla()
    u, t = np.mgrid[0:2 * np.pi:24j, 0:np.pi:12j]
    ax.plot_wireframe(np.cos(u) * np.sin(t), np.sin(u) * np.sin(t), np.cos(t), color="0.85", lw=0.3)
    directions, contrib, sign = run.directions[index], run.contributions[index], np.sign(run.v[index])
    size = 4 + 80 * contrib / contrib.max()
    ax.scatter(*directions.T, s=size, c=np.where(sign > 0, "tab:red", "tab:blue"), alpha=0.8, depthshade=False)
    centres = np.eye(run.x.shape[1])
    positive = np.array([(run.y[run.x @ c > 0.5] > 0).mean() > 0.5 for c in centres])
    ax.scatter(*centres[positive].T, marker="*", s=160, c="darkred", label=r"centres $\mu_k$, $y=+1$")
    ax.scatter(*centres[~positive].T, marker="*", s=160, c="navy", label=r"centres $\mu_k$, $y=-1$")
    average = centres[positive].sum(0) / np.sqrt(positive.sum())
    ax.scatter(*average, marker="D", s=50, c="darkred", label=r"$\mu_+/\|\mu_+\|$")
    for vectors, color in ((run.extremal_positive, "darkred"), (run.extremal_negative, "navy")):
        if len(vectors):
            ax.scatter(*vectors.T, s=260, facecolors="none", edgecolors=color, linewidths=1.2)
    ax.set(xlim=(-1, 1), ylim=(-1, 1), zlim=(-1, 1), xticks=[], yticks=[], zticks=[])
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=22, azim=35)
    ax.set_title(title, fontsize=9)


def alignment_snapshots_figure(runs: list[AlignmentTrajectory]) -> Figure:
    """Rows: p; columns: initialisation, end of the alignment phase, end of training.
    Open circles: the predicted extremal vectors."""
    fig = plt.figure(figsize=(12, 4 * len(runs)), layout="constrained")
    for row, run in enumerate(runs):
        aligned = run.alignment_index(1000.0)
        for col, (index, name) in enumerate(((0, "initialisation"), (aligned, "after alignment"),
                                             (len(run.steps) - 1, "end of training"))):
            ax = fig.add_subplot(len(runs), 3, 3 * row + col + 1, projection="3d")
            _sphere(ax, run, index, f"p={run.p:g}, {name} (step {run.steps[index]})")
    fig.axes[0].legend(loc="upper left", fontsize=7)
    return fig


def alignment_phases_figure(runs: list[AlignmentTrajectory]) -> Figure:
    """Top: cosine of each neuron to its predicted target; bottom: ||w_j||, both
    against the step on a log axis. Dominant neurons coloured, the others grey."""
    fig, axes = plt.subplots(2, len(runs), figsize=(5.5 * len(runs), 6.5), sharex=True, layout="constrained",
                             squeeze=False)
    for col, run in enumerate(runs):
        steps = run.steps + 1
        cos = (run.directions * run.targets()[None]).sum(2)
        norms = np.linalg.norm(run.W, axis=2)
        dominant = set(run.dominant().tolist())
        for j in range(run.W.shape[1]):
            style = dict(color="tab:red" if run.v[-1, j] > 0 else "tab:blue", lw=0.9) if j in dominant \
                else dict(color="0.75", lw=0.5)
            axes[0, col].plot(steps, cos[:, j], **style)
            axes[1, col].plot(steps, norms[:, j], **style)
        aligned = run.steps[run.alignment_index(1000.0)] + 1
        for ax in axes[:, col]:
            ax.axvline(aligned, color="k", ls="--", lw=0.8)
        axes[0, col].set(xscale="log", ylim=(-1.05, 1.05), title=f"p={run.p:g}",
                         ylabel="cosine to predicted extremal vector")
        axes[1, col].set(xscale="log", yscale="log", xlabel="GD step + 1", ylabel=r"$\|w_j\|$")
    return fig


def alignment_animation(runs: list[AlignmentTrajectory], interval_ms: int = 120) -> FuncAnimation:
    """An animation of the neurons moving on the sphere, one panel per p."""

    fig = plt.figure(figsize=(4.5 * len(runs), 4.2), dpi=60)  # small frames: the page embeds all of them
    axes = [fig.add_subplot(1, len(runs), i + 1, projection="3d") for i in range(len(runs))]

    def draw(frame: int):
        for ax, run in zip(axes, runs):
            _sphere(ax, run, frame, f"p={run.p:g}, step {run.steps[frame]}")
        return axes

    animation = FuncAnimation(fig, draw, frames=len(runs[0].steps), interval=interval_ms, blit=False)
    plt.close(fig)
    return animation


# -- MNIST ----------------------------------------------------------------------
def probe_figure(r: MnistResults | CaltechResults, correlation_title: str,
                 paper_curves: dict[float, np.ndarray] | None = None, radius_label: str = "") -> Figure:
    """The four panels of a probe's page (MNIST, Caltech-256): (a) the correlation of the
    training inputs, (b) accuracy per epoch, (c) stable rank, (d) robust accuracy against
    the Linf radius (bands: min-max over repeats; x: ``paper_curves``), as 2 x 2 panels
    large enough to read on a page."""
    fig, grid = plt.subplots(2, 2, figsize=(11, 9), layout="constrained")
    axes = grid.ravel()
    image = axes[0].imshow(r.correlation.astype(float), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    axes[0].set(title=correlation_title, xticks=[], yticks=[])
    plt.colorbar(image, ax=axes[0], fraction=0.046)
    epochs = np.arange(1, r.train_accuracy.shape[2] + 1)
    eps = np.asarray(r.config.eps_grid)
    for pi, p in enumerate(r.config.powers):
        c = color_of(p)
        band(axes[1], epochs, r.test_accuracy[pi], f"p={p:g} test", c)
        band(axes[1], epochs, r.train_accuracy[pi], f"p={p:g} train", c, ls="--")
        band(axes[2], epochs, r.stable_rank[pi], f"p={p:g}", c)
        band(axes[3], eps, r.robust_accuracy[pi], f"p={p:g}", c, marker="o", ms=3)
        if paper_curves and p in paper_curves:
            axes[3].plot(eps, paper_curves[p], "x", color=c, label=f"paper p={p:g}")
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="(b) train (dashed) and test accuracy")
    axes[2].set(xlabel="epoch", ylabel=r"$\|H\|_F^2/\|H\|_2^2$", title="(c) stable rank of hidden features")
    axes[3].set(xlabel=r"$\ell_\infty$ radius $\varepsilon$" + radius_label, ylabel="robust accuracy (APGD-CE)",
                title="(d) robust accuracy", ylim=(-0.02, 1.02))
    for ax in axes[1:]:
        ax.legend(fontsize=8)
    return fig


def mnist_figure(r: MnistResults) -> Figure:
    """The MNIST page's four panels (:func:`probe_figure`), with the paper's curve."""
    on_grid = paper.is_mnist_grid(r.config.n_class, np.asarray(r.config.eps_grid))
    return probe_figure(r, "(a) cosine of centred training digits,\nsorted by digit",
                        paper.MNIST_ROBUST if on_grid else None)


def caltech_figure(r: CaltechResults) -> Figure:
    """The Caltech-256 page's four panels (:func:`probe_figure`), panel (a) of the
    backbone's features."""
    return probe_figure(r, "(a) cosine of centred training features,\nsorted by superclass", None,
                        " (feature space)")


# -- sweep pages ------------------------------------------------------------------
def _sweep_groups(r: SweepResults) -> list[float | None]:
    """The robust-accuracy panels of a sweep page: one per exponent, or one for all the
    points when the exponent is what is swept (None)."""
    return [None] if r.axis == "powers" else r.powers


def _value_axis(ax: Axes, r: SweepResults) -> None:
    ax.set_xlabel(r.axis_name)
    if r.axis == "init_scale":
        ax.set_xscale("log")


def sweep_robust_figure(r: SweepResults) -> Figure:
    """Robust accuracy against the l2 radius at each point of a sweep, coloured by the
    swept value: the strongest attack (mean, min-max band over repeats) and the attack as
    written (dashed mean); one panel per exponent unless the exponent is swept."""
    groups, t = _sweep_groups(r), r.table
    variants = t[t["kind"] == VARIANTS_KIND]
    cmap, lo, hi = plt.get_cmap("viridis"), min(r.values), max(r.values)
    scaled = (lambda v: (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo) or 1)) \
        if r.axis == "init_scale" else (lambda v: (v - lo) / ((hi - lo) or 1))
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 3.8), squeeze=False, layout="constrained")
    for ax, p in zip(axes[0], groups):
        for point, value in enumerate(r.values):
            runs = variants[(variants["point"] == point) & ((variants["p"] == p) if p is not None else True)]
            if not len(runs):
                continue
            curves = runs.pivot_table(index="repeat", columns="eps", values="robust_strong")
            colour = cmap(scaled(value))
            band(ax, curves.columns.to_numpy(), curves.to_numpy(), r.value_label(value), colour)
            written = runs.pivot_table(index="repeat", columns="eps", values="robust_as_written")
            ax.plot(written.columns, written.mean(axis=0), color=colour, ls="--", lw=0.8)
        k = r.clusters[:, 0]
        if len(set(k)) == 1:
            ax.axvline(1 / math.sqrt(k[0]), color="k", ls=":", lw=0.8)
            ax.text(1 / math.sqrt(k[0]), 0.02, r" $1/\sqrt{K}$", fontsize=8)
        ax.axvline(math.sqrt(2) / 2, color="k", ls=":", lw=0.8)
        ax.text(math.sqrt(2) / 2, 0.02, r" $\sqrt{2}/2$", fontsize=8)
        ax.set(xlabel=r"$\ell_2$ radius $\varepsilon$", ylabel="robust accuracy", ylim=(-0.02, 1.02),
               title=("" if p is None else f"p = {p:g}: ") + "strong (solid), as written (dashed)")
        ax.legend(fontsize=6, loc="upper right", ncol=2 if len(r.values) > 5 else 1)
    return fig


def sweep_summary_figure(r: SweepResults) -> Figure:
    """Against the swept value: (a) the breaking radius (robust accuracy below
    :data:`~prelu_robust.sweep_results.BREAKING_LEVEL`) of each attack, mean and min-max
    over repeats, with the theory's radii; (b) the dominant neurons' alignment with the
    subclass centres (solid) and with the class averages (dashed)."""
    radii, aligned = breaking_radii(r), alignment(r)
    eps_max = float(r.table["eps"].max())
    fig, (ax_r, ax_a) = plt.subplots(1, 2, figsize=(10.5, 3.8), layout="constrained")
    series = [None] if r.axis == "powers" else r.powers
    for p in series:
        colour = "tab:gray" if p is None else color_of(p)
        for attack, style in (("strong", dict(ls="-", marker="o")), ("as written", dict(ls="--", marker="x"))):
            rows = radii[(radii["attack"] == attack) & ((radii["p"] == p) if p is not None else True)]
            stats = rows.assign(radius=rows["radius"].clip(upper=eps_max)).groupby("value")["radius"]
            mean, low, high = stats.mean(), stats.min(), stats.max()
            spread = [(mean - low).clip(lower=0), (high - mean).clip(lower=0)]  # 0, not -1e-17, when all agree
            ax_r.errorbar(mean.index, mean, yerr=spread, color=colour, ms=4, capsize=2,
                          label=("" if p is None else f"p = {p:g}, ") + attack, **style)
        rows = aligned if p is None else aligned[aligned["p"] == p]
        for column, ls, what in (("alignment_centres", "-", "centres"), ("alignment_averages", "--", "class averages")):
            stats = rows.groupby("value")[column]
            ax_a.plot(stats.mean().index, stats.mean(), color=colour, ls=ls, marker="o", ms=3,
                      label=("" if p is None else f"p = {p:g}, ") + f"with the {what}")
            ax_a.fill_between(stats.mean().index, stats.min(), stats.max(), color=colour, alpha=0.2, linewidth=0)
    k = r.clusters[:, 0]
    if r.axis == "n_clusters":
        grid_k = np.linspace(k.min(), k.max(), 100)
        ax_r.plot(grid_k, 1 / np.sqrt(grid_k), "k:", lw=1, label=r"$1/\sqrt{K}$")
    else:
        ax_r.axhline(1 / math.sqrt(k[0]), color="k", ls=":", lw=1, label=rf"$1/\sqrt{{K}}$, K = {k[0]}")
    ax_r.axhline(math.sqrt(2) / 2, color="k", ls="-.", lw=1, label=r"$\sqrt{2}/2$")
    if r.axis == "powers":
        ax_r.axvline(2, color="0.6", lw=0.8)
        ax_a.axvline(2, color="0.6", lw=0.8)
    for ax in (ax_r, ax_a):
        _value_axis(ax, r)
        ax.legend(fontsize=6)
    ax_r.set(ylabel=r"breaking radius $\varepsilon$", ylim=(0, eps_max * 1.02),
             title="(a) where robust accuracy falls below 1/2")
    ax_a.set(ylabel="mean largest cosine (dominant neurons)", ylim=(0, 1.02),
             title="(b) alignment of the dominant neurons")
    return fig
