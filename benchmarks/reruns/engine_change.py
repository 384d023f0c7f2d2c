"""Two engines' paper-profile synthetic stores compared run by run: what a change of
engine did to every number the figures draw, beside the spread over repeats.

    python benchmarks/reruns/engine_change.py OLD_STORE [--dropped SETTING ...] [--out FILE]

OLD_STORE is the ``results/paper`` folder of a checkout of the old engine (for the
float32 engine: ``git worktree add ../old 9a421da``, then ``../old/results/paper``).
``--dropped`` names the settings the old engine did not have, so that its entries are
found under their own keys (none when the settings are the same). FILE (default
``RESULTS_ENGINE_CHANGE.md``) is written under benchmarks/.

Committed: ``RESULTS_ENGINE_CHANGE.md`` (float32 -> bf16 training products and
sign-exact verdicts, ``--dropped product_dtype``) and ``RESULTS_ENGINE_CHANGE_FUSED.md``
(the fused training loops, stacked Algorithm 1 and shared zero-start attack runs; the old
store: ``git worktree add ../old_engine 51c038b``, ``--out RESULTS_ENGINE_CHANGE_FUSED.md``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from prelu_robust import paths
from prelu_robust.experiments import synthetic
from prelu_robust.store import ResultsStore, committed_store

CLUSTERS = {"K = 10, K1 = 6": {}, "K = 20, K1 = 8": {"n_clusters": 20, "n_positive": 8}}


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def spread(values: np.ndarray) -> np.ndarray:
    """(max - min) / mean over the repeats (last axis)."""
    return (values.max(-1) - values.min(-1)) / values.mean(-1)


def compare(config: synthetic.SyntheticConfig, old: ResultsStore, new: ResultsStore,
            dropped: tuple[str, ...]) -> list[str]:
    rows = []
    A, R = len(config.alphas), config.repeats
    for p in config.powers:
        dist, loss = np.zeros((2, A, R)), np.zeros((2, A, R))
        same_directions, active_gap, accuracy_gap, cosine_gap, curve_gap, missing = 0, 0, 0.0, 0.0, {}, 0
        for ai in range(A):
            for r in range(R):
                settings = synthetic.SyntheticRun(config, float(p), ai, r).settings()
                old_settings = {k: v for k, v in settings.items() if k not in dropped}
                pair = old.load(synthetic.KIND, old_settings), new.load(synthetic.KIND, settings)
                if pair[0] is None or pair[1] is None:
                    missing += 1
                    continue
                for i, arrays in enumerate(pair):
                    dist[i, ai, r], loss[i, ai, r] = arrays["distance"], np.exp(arrays["log_loss"][-1])
                before, after = pair
                same_directions += all(int(before[k]) == int(after[k]) for k in ("surrogate_neurons", "basis_rank"))
                active_gap = max(active_gap, abs(int(before["active_neurons"]) - int(after["active_neurons"])))
                accuracy_gap = max(accuracy_gap, abs(float(before["test_accuracy"] - after["test_accuracy"])))
                named = slice(0, 2) if p <= 2 else slice(2, None)  # the theory's directions: mu_+-, or the centres
                best_cosine = [np.abs(arrays["cosines"][:, named]).max(0) for arrays in pair]
                cosine_gap = max(cosine_gap, float(np.abs(best_cosine[0] - best_cosine[1]).max()))
                for curve in ("robust_reference", "robust_strong", "robust_ideal"):
                    if curve in after:
                        gap = float(np.abs(before[curve] - after[curve]).max())
                        curve_gap[curve] = max(curve_gap.get(curve, 0.0), gap)
        if missing:
            rows.append(f"| {p:g} | {missing} runs missing from one of the stores | | | | | | | | |")
            continue
        dist_change = np.abs(dist[1] - dist[0]) / dist[0]
        loss_change = np.abs(loss[1] - loss[0]) / loss[0]
        curves = ", ".join(f"{k.removeprefix('robust_')} {v:.4f}" for k, v in curve_gap.items())
        plotted = np.abs(dist[1].mean(-1) - dist[0].mean(-1)) / dist[0].mean(-1)  # the figure's mean per alpha
        rows.append(f"| {p:g} | {np.median(dist_change):.1%} (max {dist_change.max():.1%}) | {plotted.max():.1%} | "
                    f"{np.median(spread(dist[0])):.0%} | {np.median(loss_change):.1%} (max {loss_change.max():.1%}) | "
                    f"{np.median(spread(loss[0])):.0%} | {same_directions} of {A * R} | {active_gap} | "
                    f"{accuracy_gap:.4f} | {cosine_gap:.4f} | {curves} |")
    return rows


def main(old_root: str, dropped: tuple[str, ...], out_name: str) -> None:
    old, new = ResultsStore(Path(old_root)), committed_store()
    out = ["# A change of engine, run by run\n",
           f"{time.strftime('%Y-%m-%d %H:%M %Z')}. Every run of both synthetic figures, old engine "
           f"(`{old_root}`) against the current one (`results/paper`); settings the old engine lacked: "
           f"{', '.join(dropped) or 'none'}. Changes are relative, per run; the spread is the range over the five "
           "repeats of one (p, alpha) divided by their mean, in the old store (median over alphas). Same "
           "directions: as many merged directions and the same basis rank. Active neurons: the largest change "
           "of the number trained after pruning. Cosine: the largest change of any of the theory's directions' (mu_+ "
           "and mu_- for p = 1, the centres for p = 3) best cosine with a top neuron; "
           "curves: the largest change at any radius. A final loss is the mean over the last epoch's batches; "
           "when the gradient-flow budget ends a few batches into an epoch, it is the mean over those few.\n"]
    header = ("| p | distance change: median (max) | change of the mean over repeats (max over alphas) | "
              "spread over repeats | final loss change: median (max) | "
              "spread over repeats | same directions | active neurons change | test accuracy change | cosine change | "
              "robust curves change |")
    for name, clusters in CLUSTERS.items():
        out += [f"## {name}\n", header, "|" + "---|" * (header.count("|") - 1),
                *compare(synthetic.make_config("paper", **clusters), old, new, dropped), ""]
    text = "\n".join(out)
    (paths.REPORTS / out_name).write_text(text)
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old_store")
    parser.add_argument("--dropped", nargs="*", default=[])
    parser.add_argument("--out", default="RESULTS_ENGINE_CHANGE.md")
    args = parser.parse_args()
    main(args.old_store, tuple(args.dropped), args.out)
