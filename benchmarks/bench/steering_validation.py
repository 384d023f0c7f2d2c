"""The merged steering against the exact one on the paper-scale attacked models, from the store.

For every attacked model of a synthetic figure (each p, each repeat, the first alpha) whose
attack variants are stored both ways, one row per radius and variant: the curve of the
first store's merged steering, the curve of the exact steering (every neuron above 1e-6 of
the largest contribution, at p = 1 grouped where their signs are proven: the net's own
gradient up to the order of the sums, checked against the full computation in
``RESULTS_ATTACK_FIDELITY_P1_EXACT.md``), and their difference against the tolerance of
0.005. Nothing is recomputed: both curves are read from the stores, all 20,000 attacked
points each. Models whose exact entries are not stored yet are listed as missing.

    python benchmarks/bench/steering_validation.py --exact-store results/custom/paper \\
        --report RESULTS_STEERING_VALIDATION_K10.md
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from prelu_robust.attacks import VARIANTS
from prelu_robust.experiments import synthetic
from prelu_robust.reporting import write_report
from prelu_robust.store import ResultsStore, committed_store

TOLERANCE = 0.005


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=10, help="K: 10 (K1 = 6) or 20 (K1 = 8)")
    parser.add_argument("--exact-store", type=Path, default=None,
                        help="the store holding the exact entries (default: the committed one)")
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    clusters = {} if args.clusters == 10 else {"n_clusters": 20, "n_positive": 8}
    committed = committed_store("paper")
    merged = synthetic.resolve_profile("paper", committed, steering=synthetic.MERGED, **clusters)[1]
    exact = dataclasses.replace(merged, steering="exact")
    exact_store = committed if args.exact_store is None else ResultsStore(args.exact_store)
    rows, missing, worst = [], [], {}
    for first, second in zip(synthetic.variant_runs(merged), synthetic.variant_runs(exact)):
        run = first.run
        old = committed.load(synthetic.VARIANTS_KIND, first.settings())
        new = exact_store.load(synthetic.VARIANTS_KIND, second.settings())
        if old is None or new is None:
            missing.append(f"p={run.p:g} repeat {run.repeat}")
            continue
        for name in VARIANTS:
            for eps, a, b in zip(merged.eps_grid, old[f"robust_{name}"], new[f"robust_{name}"]):
                gap = abs(float(a) - float(b))
                worst[run.p, name] = max(worst.get((run.p, name), 0.0), gap)
                rows.append(f"| {run.p:g} | {run.repeat} | {name} | {eps:.3f} | {a:.4f} | {b:.4f} | {gap:.4f}"
                            f"{' **over**' if gap > TOLERANCE else ''} |")
    summary = "; ".join(f"p={p:g} {name} {gap:.4f}" for (p, name), gap in sorted(worst.items()))
    footer = (f"\nLargest |merged - exact| per p and variant: {summary or 'none stored'} (tolerance {TOLERANCE}). "
              f"{len(rows)} rows over {len(rows) // (len(VARIANTS) * len(merged.eps_grid)) if rows else 0} models."
              + (f" Not stored with exact steering yet: {', '.join(missing)}." if missing else "") + "\n")
    print(write_report(
        args.report, f"The merged steering against the exact one: K = {merged.n_clusters}, every attacked model",
        "Both curves read from the stores (20,000 attacked points, 2,000 PGD steps of 0.1, verdicts of the full "
        "net); the date and CPU are this report's, the curves' are in their entries' metadata. Written by "
        "`benchmarks/bench/steering_validation.py` (its docstring says what is compared).",
        "| p | repeat | variant | eps | merged | exact | abs(merged - exact) |", rows, footer))


if __name__ == "__main__":
    main()
