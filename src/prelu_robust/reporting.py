"""Markdown the pages display: which profile produced them, and how the
numbers compare with the paper's."""

from __future__ import annotations

import dataclasses
import math
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import paper, paths, sweep_results
from .pages import PAGE_METADATA
from .run_notebook import RERUN, parameters_cell
from .device import cpu_description, float32_gflops
from .store import git_revision
from .experiments import alignment, caltech, mnist, synthetic
from .experiments.caltech import CaltechResults
from .experiments.alignment import AlignmentResults, AlignmentTrajectory
from .experiments.common import SweepCost
from .experiments.mnist import MnistResults
from .experiments.synthetic import SyntheticConfig, SyntheticResults, VariantCurves
from .models import aligns_with_class_averages
from .precision import has_bf16_units
from .neurons import COVERAGE_COSINE, covered_centres, dominant_mask

__all__ = ["page_metadata", "page_parameters", "alignment_phases", "markdown_table", "profile_banner", "breaking_radius", "robust_table", "training_check", "synthetic_summary",
           "variants_summary",
           "alignment_summary",
           "mnist_banner", "caltech_banner", "caltech_summary", "mnist_poster_comparison", "mnist_summary", "write_report", "write_rerun_report", "sweep_banner", "sweep_table"]




def page_metadata(r: SyntheticResults | MnistResults | CaltechResults | AlignmentResults) -> dict[str, Any]:
    """What a page's results say about how it was produced, for its banner's output
    metadata: ``display(Markdown(banner), metadata=page_metadata(results))``."""
    return {PAGE_METADATA: {"profile": r.profile, "runs_total": r.cost.total, "runs_computed": r.cost.computed}}


def page_parameters(notebook: str, namespace: Mapping[str, Any], config: Any = None) -> str:
    """The command that re-runs this page, and a collapsed table of its parameters.

    ``notebook``: the page's source (relative to the checkout); ``namespace``: the
    notebook's globals after its parameters cell (papermill's values included);
    ``config``: the experiment's config, whose (resolved) value of each setting is shown.
    """
    cell = parameters_cell(paths.CHECKOUT / notebook)
    given = {name: namespace[name] for name, (default, _) in cell.items()
             if name in namespace and namespace[name] != default and name != "executed_dir"}
    command = RERUN.format(notebook=notebook, output=Path(notebook).stem + ".ipynb") + "".join(
        f" -p {name} {shlex.quote(value if isinstance(value, str) else repr(value))}" for name, value in given.items())
    rows = []
    for name, (default, comment) in cell.items():
        value = getattr(config, name) if config is not None and hasattr(config, name) else namespace.get(name, default)
        shown = _short(value) if value is not None else "the profile's"
        rows.append([f"`{name}`", f"**{shown}**" if name in given else shown, comment.replace("|", "/")])
    return (f"Re-run this page: `{command}` (add `-p NAME VALUE` for any parameter below; "
            "`--store DIR` keeps the results apart).\n\n"
            "```{admonition} The parameters of this page\n:class: dropdown\n"
            "Values in bold are set for this page; the others are the notebook's defaults, "
            "as the profile resolves them.\n\n"
            + markdown_table(["parameter", "value", "meaning"], rows) + "\n```")


def _short(value: Any) -> str:
    """A parameter's value for a table cell; a long grid as its size and ends."""
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{len(value)} values, `{value[0]!r}` ... `{value[-1]!r}`"
    return f"`{value!r}`"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table; floats are printed with 3 decimals."""
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cpu_hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} CPU-h" if seconds >= 36 else f"{seconds:.0f} CPU-s"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def _overrides(config: Any, profile: str, profiles: Mapping[str, Any], precision: Sequence[str] = ()) -> str:
    """The settings that differ from the profile's; the ``precision`` fields are not among
    them (a profile's precision is this machine's, the banner states the one used)."""
    if profile not in profiles:
        return ""
    base = profiles[profile]
    changed = [f"{f.name}={getattr(config, f.name)!r}" for f in dataclasses.fields(config)
               if getattr(config, f.name) != getattr(base, f.name) and f.name not in precision]
    return f", with {', '.join(changed)}" if changed else ""


def _computed_and_loaded(cost: SweepCost) -> str:
    """How many runs a page computed, into which store, and how many it loaded."""
    where = f" into `{_shown_path(cost.store)}`" if cost.computed and cost.store else ""
    return f"{cost.computed} computed for this page{where}, {cost.total - cost.computed} loaded from the results store"


def _shown_path(path: str) -> str:
    """``path`` relative to the checkout when it lies inside it."""
    try:
        return str(Path(path).resolve().relative_to(paths.CHECKOUT))
    except ValueError:
        return path


#: What a page steered by the merged surrogate says of its p = 1 curves.
MERGED_P1_WARNING = (
    "\n\n**The p=1 curves are steered by the merged surrogate**, not by the net's gradient: on the "
    "paper-scale p=1 nets it breaks fewer points just past 1/sqrt(K) than the exact steering, beyond the "
    "tolerance of the validation (`benchmarks/reports/RESULTS_ATTACK_FIDELITY_P1*.md`). Re-run with "
    "`-p steering exact` for the net's own attack.")


def steering_note(c: SyntheticConfig) -> str:
    """What the page *Paper versus reproduction* says of the steering of the synthetic runs
    it reads (``c``: their config)."""
    if c.steering == synthetic.MERGED:
        return ("*The p=1 rows read runs steered by the merged surrogate, which fails its validation.* The "
                "store's K = 10 runs were computed with `steering=\"merged\"`: the neurons above "
                f"{c.surrogate_tol:g} of the largest contribution merged by direction (for p=1: two units). Steered "
                "by the net's own gradient, the attacks as written and exact break more points at eps = 0.321, just "
                "past 1/sqrt(K), on each of the five attacked models at all 20,000 points "
                "(`RESULTS_STEERING_VALIDATION_K10.md`); merging more tightly or keeping fewer neurons does not "
                "match the full computation, and the exact steering does (`RESULTS_ATTACK_FIDELITY_P1*.md`). So the "
                "table's p=1 rows at that radius overstate what the authors' attack finds on our nets; "
                "`prelu-robust compute synthetic --profile paper -p steering exact` computes the exact runs, which "
                "this page then reads.")
    return ("*The synthetic rows read runs steered by the net's own gradient* (`steering=\"exact\"`): every neuron "
            f"above {c.prune_tol or 0:g} of the largest contribution, at p=1 summed by direction groups wherever "
            "their signs are proven (`spaces.GroupedSpan`), which matches the full computation "
            "(`RESULTS_ATTACK_FIDELITY_P1_EXACT.md`). The first store's merged surrogate (for p=1: two units) "
            "broke fewer points at eps = 0.321, just past 1/sqrt(K), on each of the five attacked models "
            "(`RESULTS_STEERING_VALIDATION_K10.md`): its p=1 rows there overstated what the authors' attack finds.")


def steering_description(c: SyntheticConfig) -> str:
    """Which neurons steer the attacks and Algorithm 1 (engine.STEERINGS)."""
    if c.steering == synthetic.MERGED:
        return (f"steps steered by the neurons above {c.surrogate_tol:g} of the largest contribution, merged by "
                "direction (the merged surrogate)")
    return f"steps steered by every neuron above {c.prune_tol or 0:g} of the largest contribution (exact steering)"


def profile_banner(r: SyntheticResults) -> str:
    """A note stating the profile, the key settings and the compute time."""
    c = r.config
    loaded = r.cost.total - r.cost.computed
    return (
        f"```{{admonition}} Produced with the **{r.profile}** profile{_overrides(c, r.profile, synthetic.PROFILES, synthetic.PRECISION_FIELDS)}\n"
        f":class: {'tip' if r.profile == 'paper' else 'warning'}\n"
        f"D={c.dim}, K={c.n_clusters}, K1={c.n_positive}, n_train={c.n_train}, n_test={c.n_test}, "
        f"width={c.width}, init scale={c.init_scale:g}, {c.loss} loss, SGD lr={c.lr:g}, batch={c.batch_size}, "
        f"epochs={c.epochs} ({c.schedule} schedule, "
        + ("no pruning" if c.prune_tol is None else f"neurons below {c.prune_tol:g} of the largest frozen")
        + f", training products in {c.product_dtype or 'float32'}), "
        f"{len(c.alphas)} alphas x {c.repeats} repeats x p in {list(c.powers)}; "
        f"attack: {c.attack_steps} steps of {c.attack_step_size:g} on {c.attack_points} test points, "
        f"strong attack {c.strong_restarts} restarts; Algorithm 1: {c.dist_batches} x {c.dist_batch_size} points, "
        f"{c.dist_steps} steps of {c.dist_step_size:g}; {steering_description(c)}.\n\n"
        f"Compute: {_duration(r.cost.wall_s)} wall, {_duration(r.cost.cpu_s)} CPU over {r.cost.total} runs "
        f"({_computed_and_loaded(r.cost)})"
        + (f"; computed at git {r.cost.provenance.get('git_revision')} on {r.cost.provenance.get('date')}."
           if r.cost.provenance.get("git_revision") else ".")
        + (MERGED_P1_WARNING if c.steering == synthetic.MERGED and 1.0 in c.powers else "")
        + ("\n\nThe ci profile is a scaled-down smoke run: read its numbers as a check "
           "that the pipeline works, not as the paper's figure." if r.profile != "paper" else "")
        + "\n```"
    )


def breaking_radius(eps: np.ndarray, accuracy: np.ndarray, level: float = 0.5) -> tuple[float, float]:
    """The grid interval (lo, hi] where ``accuracy`` first drops below ``level``."""
    below = np.nonzero(accuracy < level)[0]
    if len(below) == 0:
        return float(eps[-1]), math.inf
    i = below[0]
    return (float(eps[i - 1]) if i > 0 else 0.0), float(eps[i])


def robust_table(config: SyntheticConfig, columns_of: Callable[[int, float], list[tuple[str, np.ndarray]]]) -> str:
    """Robust accuracy against eps: per p, the paper's values (at its setting) and the
    (header, values (E,)) columns ``columns_of(power_index, p)``."""
    eps = np.asarray(config.eps_grid)
    paper_grid = paper.is_synthetic_setting(config.n_clusters, config.n_positive, eps)
    headers, columns = ["eps"], []
    for pi, p in enumerate(config.powers):
        named = ([(f"p={p:g} paper", paper.SYNTHETIC_ROBUST[p])] if paper_grid and p in paper.SYNTHETIC_ROBUST
                 else []) + columns_of(pi, p)
        headers += [name for name, _ in named]
        columns += [values for _, values in named]
    return markdown_table(headers, [[float(e)] + [float(col[i]) for col in columns] for i, e in enumerate(eps)])


def training_check(r: SyntheticResults) -> str:
    """A warning (markdown) naming the runs that did not fit their training data, per
    power, or "" when every run did: a net that never left its small initialisation
    still yields curves and cosine maps, which then say nothing about trained nets."""
    lines = []
    for pi, p in enumerate(r.config.powers):
        unfit = r.train_error[pi] > 0
        if unfit.any():
            lines.append(f"- p={p:g}: {int(unfit.sum())} of {unfit.size} runs, final training error up to "
                         f"{r.train_error[pi].max():.3f}, final training loss up to {r.final_loss[pi].max():.3g}")
    if not lines:
        return ""
    return "\n".join(["**Warning: some nets did not fit their training data within the epoch budget.**", "", *lines,
                      "", "Their panels describe nets that stayed near their initialisation (or are still fitting), "
                      "not the trained nets the theory is about. Raise `epochs` or `lr` for these settings."])


def centre_coverage(r: SyntheticResults, pi: int) -> str:
    """How many of the K centres the dominant neurons of power ``pi``'s model of panels
    (c, d) point at (cosine > :data:`COVERAGE_COSINE`), in words; which ones they miss."""
    c, p = r.config, r.config.powers[pi]
    contributions = torch.as_tensor(r.contributions[pi])  # sorted, as the cosines' rows
    rows = r.cosines[pi][dominant_mask(contributions, c.surrogate_tol)[: len(r.cosines[pi])].numpy()]
    covered = covered_centres(rows, COVERAGE_COSINE)
    text = (f"p={p:g}: the {len(rows)} dominant neurons (at least {c.surrogate_tol:g} of the largest contribution) "
            f"of the model in panels (c, d) point at {covered.sum()} of the {c.n_clusters} centres "
            f"(cosine > {COVERAGE_COSINE:g})")
    if covered.all():
        return text + ", as the theory predicts for p > 2."
    missed = ", ".join(f"mu_{k + 1}" for k in np.nonzero(~covered)[0])
    return text + f"; **not all of them**: no dominant neuron points at {missed}."


def synthetic_summary(r: SyntheticResults) -> str:
    """Tables of robust accuracy and distances beside the paper's values."""
    c = r.config
    eps = np.asarray(c.eps_grid)
    paper_grid = paper.is_synthetic_setting(c.n_clusters, c.n_positive, eps)
    table = robust_table(c, lambda pi, p: [(f"p={p:g} reference", r.robust_reference[pi].mean(0)),
                                           (f"p={p:g} strong", r.robust_strong[pi].mean(0)),
                                           (f"ideal p={p:g} reference", r.robust_ideal[pi])])
    out = ["**Robust accuracy** (mean over repeats)", "", table, ""]

    bound = paper.mv25_bound(c.n_clusters, c.n_positive)
    facts = []
    for pi, p in enumerate(c.powers):
        lo, hi = breaking_radius(eps, r.robust_reference[pi].mean(0))
        known = paper.SYNTHETIC_BREAKING.get(p) if paper_grid else None
        facts.append(f"- p={p:g}: reference-attack accuracy falls below 0.5 between eps={lo:.3f} and {hi:.3f}"
                     + (f" (paper: between {known[0]:.3f} and {known[1]:.3f})" if known else "") + ".")
        beyond = eps >= math.sqrt(2) / 2
        if beyond.any():
            strong = r.robust_strong[pi].mean(0)[beyond].max()
            ref = r.robust_reference[pi].mean(0)[beyond].max()
            weak = [name for name, value in (("reference", ref), ("strong", strong)) if value > bound + 1e-9]
            facts.append(f"- p={p:g}: largest accuracy at eps >= sqrt(2)/2: reference {ref:.3f}, strong "
                         f"{strong:.3f}; the MV25 bound is {bound:.2f}"
                         + (f" - the {' and '.join(weak)} attack{'s are' if len(weak) > 1 else ' is'} too weak there "
                            "(every curve is an upper bound on the true robust accuracy)." if weak else "."))
    facts += [f"- {centre_coverage(r, pi)}" for pi, p in enumerate(c.powers) if not aligns_with_class_averages(p)]
    facts.append(f"- clean test accuracy: min {r.test_accuracy.min():.4f} over all runs.")
    out += facts + [""]

    alphas = np.asarray(c.alphas)
    headers = ["alpha"] + [f"dist p={p:g} (mean [min, max])" for p in c.powers]
    rows = [[float(a)] + [f"{r.distance[pi, ai].mean():.2e} [{r.distance[pi, ai].min():.2e}, "
                          f"{r.distance[pi, ai].max():.2e}]" for pi in range(len(c.powers))]
            for ai, a in enumerate(alphas)]
    out += ["**Distance to the ideal classifier** (Algorithm 1, each point ascending its own "
            "objective)", "", markdown_table(headers, rows), ""]
    if c.n_clusters == paper.SYNTHETIC_CLUSTERS[0]:
        ours = "; ".join(f"p={p:g} {r.distance[pi, 0].mean():.2e} at alpha={alphas[0]:g} -> "
                         f"{r.distance[pi, -1].mean():.2e} at alpha={alphas[-1]:g}" for pi, p in enumerate(c.powers))
        out.append(f"Paper: dist(f1, F) rises from ~{paper.SYNTHETIC_DIST_P1[0]} to ~{paper.SYNTHETIC_DIST_P1[1]}; "
                   f"dist(f3, F^(3)) stays within ~{paper.SYNTHETIC_DIST_P3[0]:.1e}..{paper.SYNTHETIC_DIST_P3[1]:.1e} "
                   "(with Algorithm 1 as written, whose ascent stalls when the gap is ~1e-5; ours ascends "
                   f"each point's own objective). Ours (mean over repeats): {ours}.")
    if paper_grid:
        gaps = [f"p={p:g} {np.abs(r.robust_reference[pi].mean(0) - paper.SYNTHETIC_ROBUST[p]).max():.3f}"
                for pi, p in enumerate(c.powers) if p in paper.SYNTHETIC_ROBUST]
        out.append(f"\nLargest difference from the paper's reference-attack curve at any radius: {', '.join(gaps)} "
                   "(the paper's values are read off its plot to about +-0.005).")
    return "\n".join(out)


def variants_summary(curves: VariantCurves, config: SyntheticConfig) -> str:
    """The variants' curves (mean over repeats) beside the paper's, and Algorithm 1 as written."""
    table = robust_table(config, lambda pi, p: [(f"p={p:g} {name.replace('_', ' ')}", curve[pi].mean(0))
                                                for name, curve in curves.robust.items()])
    written = "; ".join(f"p={p:g} {curves.distance_as_written[pi].mean():.2e} "
                        f"({curves.distance_as_written[pi].min():.2e}-{curves.distance_as_written[pi].max():.2e})"
                        for pi, p in enumerate(config.powers))
    return "\n".join(["**Robust accuracy by attack variant** (mean over repeats)", "", table, "",
                      f"Algorithm 1 as written, at the first alpha (mean, min-max over repeats): {written}."])


def alignment_banner(r: AlignmentResults) -> str:
    """A note stating the profile, the settings and the compute time."""
    c = r.config
    return (
        f"```{{admonition}} Produced with the **{r.profile}** profile{_overrides(c, r.profile, alignment.PROFILES)}\n"
        f":class: tip\n"
        f"{c.n} points in R^{c.dim} (alpha={c.alpha:g}, {c.n_positive} positive of {c.n_clusters} clusters), "
        f"width {c.width}, init N(0, {c.init_scale:g}^2), full-batch GD, lr={c.lr:g}, {c.steps} steps, exp loss, "
        f"p in {list(c.powers)}, seed {c.seed}. The ci profile has the same settings: the page runs in seconds.\n\n"
        f"Compute: {_duration(r.cost.wall_s)} wall, {_duration(r.cost.cpu_s)} CPU over {r.cost.total} runs "
        f"({_computed_and_loaded(r.cost)})"
        + (f"; computed at git {r.cost.provenance.get('git_revision')} on {r.cost.provenance.get('date')}."
           if r.cost.provenance.get("git_revision") else ".")
        + "\n```")


def alignment_summary(runs: list[AlignmentTrajectory]) -> str:
    """The angle between learned and predicted directions, per p."""
    rows = []
    for run in runs:
        angles = run.angle_to_prediction()
        aligned = run.alignment_index(1000.0)
        rows.append([f"{run.p:g}", len(run.dominant()), len(run.extremal_positive) + len(run.extremal_negative),
                     f"{angles.max():.2f}", int(run.steps[aligned]), f"{np.exp(run.log_loss[-1]):.2e}"])
    return markdown_table(["p", "dominant neurons", "predicted extremal vectors",
                           "max angle learned vs predicted (deg)", "end of alignment (step)", "final loss"], rows)


def alignment_phases(runs: list[AlignmentTrajectory], growth: float = 1000.0) -> str:
    """Per p, in words: how far the dominant neurons are from their predicted extremal
    vectors when the alignment phase ends (no norm yet ``growth`` times the largest initial
    one) and at the end, and how much their norms grow afterwards."""
    lines = []
    for run in runs:
        end, idx = run.alignment_index(growth), run.dominant()
        targets = run.targets()[idx]
        def angle(t: int) -> float:
            cos = np.clip((run.directions[t][idx] * targets).sum(1), -1, 1)
            return float(np.degrees(np.arccos(cos)).max())
        norms = np.linalg.norm(run.W[:, idx], axis=2)
        lines.append(f"- p={run.p:g}: when the alignment phase ends (step {int(run.steps[end])}) the {len(idx)} dominant "
                     f"neurons are within {angle(end):.1f} degrees of their predicted extremal vectors "
                     f"({angle(-1):.1f} at the end of training); afterwards their norms grow by a median factor "
                     f"of {float(np.median(norms[-1] / norms[end])):.2g}.")
    return "\n".join(lines)


def mnist_banner(r: MnistResults) -> str:
    """A note stating the profile, the key settings and the compute time."""
    c = r.config
    task = "parity (n_class=2)" if c.n_class == 2 else "ten classes"
    n_test = c.n_test or 10000  # both splits test on 10,000 images
    attacked = min(c.attack_points or n_test, n_test)
    return (
        f"```{{admonition}} Produced with the **{r.profile}** profile{_overrides(c, r.profile, mnist.PROFILES, mnist.PRECISION_FIELDS)}\n"
        f":class: {'tip' if r.profile == 'paper' else 'warning'}\n"
        f"MNIST {task}, split '{c.split}', n_train={c.n_train or 'all'}, n_test={c.n_test or 'all'}; "
        f"pReLU 784-{c.width}-{c.n_class}, centred, normalize_input, output bias; Adam lr={c.lr:g}, "
        f"batch {c.batch_size}, {c.epochs} epochs (first-layer products in {c.product_dtype or 'float32'}); "
        f"p in {list(c.powers)} x {c.repeats} repeats; APGD-CE "
        f"(AutoAttack 'standard', 100 iterations, products in {c.attack_product_dtype or 'float32'}, "
        f"verdicts in float32) on {attacked} test points at "
        f"{len(c.eps_grid)} Linf radii" + (f", and Table 1 on {min(c.table1_points or attacked, attacked)} points"
                                            if c.table1 else "") + ".\n\n"
        f"Compute: {_duration(r.cost.wall_s)} wall, {_duration(r.cost.cpu_s)} CPU over {r.cost.total} runs "
        f"({_computed_and_loaded(r.cost)}). "
        f"From scratch: training {_duration(float(r.train_seconds.sum()))}, "
        f"attacks {_duration(float(r.attack_seconds.sum()))} (wall, summed over runs)."
        + ("\n\nThe ci profile is a scaled-down smoke run (a subset of the data, few epochs): read its "
           "numbers as a check that the pipeline works, not as the paper's figure." if r.profile != "paper" else "")
        + "\n```")


def caltech_banner(r: CaltechResults) -> str:
    """What produced the Caltech-256 page (data, backbone, profile, settings, compute),
    and, when it is the stand-in, that the paper's figure needs Caltech-256 and
    ResNet-152 with the one command that produces it."""
    c = r.config
    standin = c.dataset != "caltech256" or c.backbone != "resnet152"
    dim = caltech.BACKBONES[c.backbone].dim
    head = (f"```{{admonition}} {'A stand-in: ' if standin else ''}{r.images}, through the frozen "
            f"**{c.backbone}** ({dim} features), **{r.profile}** profile"
            f"{_overrides(c, r.profile, caltech.PROFILES, caltech.PRECISION_FIELDS)}\n"
            f":class: {'warning' if standin or r.profile != 'paper' else 'tip'}\n")
    body = (f"Split 0.8 / 0.2 (random_split, generator seed 0), superclass = fine label mod 10; the backbone "
            f"in eval mode (BatchNorm with its running statistics; the reference code left it in train mode). "
            f"pReLU {dim}-{c.width}-10, centred at the mean training feature, normalize_input, no output bias; "
            f"Adam lr={c.lr:g}, batch {c.batch_size}, {c.epochs} epochs; p in {list(c.powers)} x {c.repeats} "
            f"repeats; APGD-CE Linf (AutoAttack 'standard', 100 iterations) in the feature space "
            f"(features mapped into [0, 1] with a margin of {c.box_margin:g}, the radius scaled alike) on "
            f"{c.attack_points or 'all'} test points at {len(c.eps_grid)} radii.\n\n"
            f"Compute: features {_duration(r.features_cpu_s)} CPU once (cached), then {_duration(r.cost.wall_s)} "
            f"wall, {_duration(r.cost.cpu_s)} CPU over {r.cost.total} runs ({_computed_and_loaded(r.cost)}).")
    if standin:
        body += ("\n\nThe paper's figure needs Caltech-256 and ResNet-152's ImageNet weights, which cannot be "
                 "downloaded here. On a machine that has them (or a network): `.venv/bin/python -m "
                 "prelu_robust.run_notebook one notebooks/caltech256.py caltech256.ipynb -p profile paper`.")
    return head + body + "\n```"


def caltech_summary(r: CaltechResults) -> str:
    """Whether test accuracy and robustness grow with p, as the paper claims: per p, the
    final test accuracy and the robust accuracy at each radius, mean [min, max] over
    repeats, and the verdict on each."""
    c, eps = r.config, np.asarray(r.config.eps_grid)
    final = r.test_accuracy[:, :, -1]  # (P, R)
    mid = len(eps) // 2
    rows = [[f"{p:g}", _mean_range(final[pi]), _mean_range(r.robust_accuracy[pi, :, mid]),
             _mean_range(r.robust_accuracy[pi, :, -1])] for pi, p in enumerate(c.powers)]
    table = markdown_table(["p", "final test accuracy", f"robust, eps={eps[mid]:.3g}", f"robust, eps={eps[-1]:.3g}"],
                           rows)

    def verdict(values: np.ndarray, what: str) -> str:
        means = values.mean(1)
        rising = bool(np.all(np.diff(means) > 0))
        return (f"{what} {'increases' if rising else 'does not increase'} with p "
                f"(means {', '.join(f'{m:.3f}' for m in means)} for p = {', '.join(f'{p:g}' for p in c.powers)})")

    robust = r.robust_accuracy[:, :, 1:].mean(2)  # mean over the radii > 0: one number per run
    return (table + "\n\nOn these results, " + verdict(final, "test accuracy") + "; "
            + verdict(robust, "robust accuracy averaged over the radii > 0") + ".")


def _mean_range(values: np.ndarray) -> str:
    return f"{values.mean():.3f} [{values.min():.3f}, {values.max():.3f}]"


def mnist_poster_comparison(r: MnistResults) -> str:
    """Robust accuracy (mean over repeats, min-max) beside the poster's at each of its
    radii, and the largest difference per p; empty if the radii are not the paper's."""
    eps = np.asarray(r.config.eps_grid)
    if not paper.is_mnist_grid(paper.MNIST_CLASSES, eps):  # compared with ten classes whatever the task
        return ""
    shown = [i for i in range(1, len(eps)) if not np.isnan(paper.MNIST_ROBUST[1.0][i])]
    rows = []
    for pi, p in enumerate(r.config.powers):
        ref = paper.MNIST_ROBUST.get(p)
        if ref is None:
            continue
        ours = r.robust_accuracy[pi]
        cells = [f"{ours[:, i].mean():.3f} ({ours[:, i].min():.3f}-{ours[:, i].max():.3f}) / {ref[i]:.3f}"
                 for i in shown]
        worst = max(abs(ours[:, i].mean() - ref[i]) for i in shown)
        rows.append([f"{p:g}"] + cells + [f"{worst:.3f}"])
    task = "ten classes, as ours here" if r.config.n_class == 10 else "ten classes; ours here is parity"
    return (f"**Robust accuracy against the poster** ({task}): ours, mean over {r.config.repeats} repeat(s) "
            "(min-max) / poster.\n\n"
            + markdown_table(["p"] + [f"eps={eps[i]:.4f}" for i in shown] + ["largest difference"], rows))


def mnist_summary(r: MnistResults) -> str:
    """Clean accuracy, robust accuracy and stable rank per p, beside the paper's; Table 1."""
    c = r.config
    eps = np.asarray(c.eps_grid)
    paper_grid = paper.is_mnist_grid(c.n_class, eps)
    at = int(np.argmin(np.abs(eps - 0.1)))
    rows = []
    for pi, p in enumerate(c.powers):
        ref = paper.MNIST_ROBUST.get(p)
        rows.append([f"{p:g}", f"{r.test_accuracy[pi, :, -1].mean():.3f}",
                     f"{r.robust_accuracy[pi, :, at].mean():.3f} (eps={eps[at]:.3f})",
                     f"{ref[7]:.3f}" if ref is not None and paper_grid else "-",
                     f"{r.stable_rank[pi, :, -1].mean():.1f}"])
    out = [markdown_table(["p", "clean test accuracy", "robust accuracy", "paper (10 classes, eps=0.1)",
                           "final stable rank"], rows), "", mnist_poster_comparison(r), ""]
    if r.table1 is not None:
        headers = ["p"] + [f"{norm} {e:g}" for norm, e in paper.TABLE1]
        rows = [[f"{p:g}"] + [f"{m:.3f} ± {s:.3f}" for m, s in zip(r.table1[pi].mean(0), r.table1[pi].std(0))]
                for pi, p in enumerate(c.powers)]
        if c.n_class == paper.MNIST_CLASSES:  # the paper's Table 1 is for ten classes
            for p, values in paper.MNIST_TABLE1.items():
                rows.append([f"paper p={p:g}"] + [f"{v:.3f}" for v in values])
        out += ["**Table 1** (APGD-CE, mean ± std over repeats"
                + ("; the paper's p=1 and p=4 values below)" if c.n_class == paper.MNIST_CLASSES else ")"), "",
                markdown_table(headers, rows)]
    return "\n".join(out)


def write_report(file: str, title: str, method: str, header: str, rows: list[str], footer: str = "",
                 threads: str = "one torch thread") -> str:
    """Write (under ``benchmarks/reports``) and return a benchmark's table with its date,
    CPU, ``threads`` and revision, ``method`` (how it was measured) and a ``footer``."""
    out = [f"# {title}\n",
           f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {cpu_description()}, {threads}, git {git_revision()}. "
           f"{method}\n", header, "|" + "---|" * (header.count("|") - 1), *rows, footer]
    text = "\n".join(out)
    (paths.REPORTS / file).write_text(text)
    return text


def write_rerun_report(file: str, title: str, method: str, header: str, rows: list[str], projected_label: str,
                       projected_cpu_s: float, gflops_before: float, target_cpu_h: float = 1.0) -> str:
    """:func:`write_report` of a rerun table, with its projected cost and the machine's
    speed (:func:`~prelu_robust.device.float32_gflops`) measured before the runs
    (``gflops_before``) and now: costs measured at different speeds do not compare.
    One report per kind of CPU: ``file`` gains ``_NO_BF16_UNITS`` on a CPU without bf16
    matrix units (such as an AVX2-only one)."""
    if not has_bf16_units():
        file = file.replace(".md", "_NO_BF16_UNITS.md")
    speed = (f"The machine's float32 product ran at {gflops_before:.0f} GFLOP/s before the runs and "
             f"{float32_gflops():.0f} after; on a shared VM this drifts, so compare costs measured at like speeds.")
    return write_report(file, title, method, header, rows,
                        f"\n{projected_label}: **{_cpu_hours(projected_cpu_s)}** (target {target_cpu_h:g} CPU-h). "
                        f"{speed}\n")


# -- sweep pages ----------------------------------------------------------------
def sweep_banner(r: sweep_results.SweepResults, command: str) -> str:
    """What a sweep page shows: its points and runs (stored or missing, with the command
    that computes them), the settings they share, and a warning naming unfit runs."""
    first = r.table.iloc[0] if len(r.table) else None
    shared = ("" if first is None else
              f" Each run: D = {first['dim']}, {first['n_train']} training points, width {first['width']}, "
              f"{first['attack_points']} attacked test points, {first['attack_steps']} PGD steps of "
              f"{first['attack_step_size']:g} at {r.table['eps'].nunique()} radii from 0 to {r.table['eps'].max():g}, "
              + ("steered by the merged surrogate, not the net's gradient: at these sizes it moves the as-written "
                 "and exact curves of p <= 2, not the strong ones (`benchmarks/reports/RESULTS_STEERING_SWEEP.md`)."
                 if first.get("steering", synthetic.MERGED) == synthetic.MERGED else "with exact steering."))
    lines = [f"**{len(r.values)} points** ({r.axis_name} = {', '.join(f'{v:g}' for v in r.values)}), "
             f"{r.entries - len(r.missing)} of {r.entries} store entries present, "
             f"{_cpu_hours(r.cpu_s)} of computation as the entries recorded it.{shared}"]
    if r.missing:
        lines += ["", f"**{len(r.missing)} entries are missing**: run `{command}` (it computes only what is missing). "
                  "First missing: " + "; ".join(r.missing[:3]) + "."]
    unfit = sweep_results.alignment(r)
    unfit = unfit[unfit["final_train_error"] > 0]
    if len(unfit):
        power = (lambda row: "") if r.axis == "powers" else (lambda row: f"p = {row.p:g}, ")
        cases = ", ".join(f"{r.axis_name} = {row.value:g} ({power(row)}repeat {row.repeat}: training error "
                          f"{row.final_train_error:.3f})" for row in unfit.itertuples())
        runs = "1 run did" if len(unfit) == 1 else f"{len(unfit)} runs did"
        lines += ["", f"**Warning: {runs} not fit the training data**: {cases}. Their curves "
                  "describe nets that are still fitting, not the trained nets the theory is about."]
    return "\n".join(lines)


def sweep_table(r: sweep_results.SweepResults) -> str:
    """Per point and exponent: the breaking radius of each attack, mean [min, max] over
    repeats, the theory's radii, and the dominant neurons' alignment (means)."""
    radii, aligned = sweep_results.breaking_radii(r), sweep_results.alignment(r)
    attacks = [label for _, label in sweep_results.ATTACKS]
    rows = []
    for point, value in enumerate(r.values):
        for p in sorted(radii.loc[radii["point"] == point, "p"].unique()):
            one = radii[(radii["point"] == point) & (radii["p"] == p)]
            cells = []
            for attack in attacks:
                x = one.loc[one["attack"] == attack, "radius"]
                cells.append(f"{x.mean():.3f} [{x.min():.3f}, {x.max():.3f}]" if len(x) else "")
            a = aligned[(aligned["point"] == point) & (aligned["p"] == p)]
            k = int(r.clusters[point, 0])
            rows.append([*([] if r.axis == "powers" else [f"{value:g}"]), f"{p:g}", *cells, f"{1 / math.sqrt(k):.3f}",
                         f"{a['alignment_centres'].mean():.2f}" if len(a) else "",
                         f"{a['alignment_averages'].mean():.2f}" if len(a) else ""])
    return markdown_table([*([] if r.axis == "powers" else [r.axis_name]), "p", *(f"breaking radius, {a}" for a in attacks), "1/sqrt(K)",
                           "alignment, centres", "alignment, averages"], rows)
