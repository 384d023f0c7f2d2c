"""The whole Section 5.1 figure's cost with the *current* engine, and a determinism
check of the store: one run of each kind is recomputed from scratch, timed, and
compared array by array with its stored entry; the times are projected onto the
figure's 150 runs. Writes benchmarks/reports/RESULTS_RERUN_K<K>[_<DTYPE>][_NO_BF16_UNITS].md
(the last part on a CPU without bf16 matrix units: ``write_rerun_report``).

    python benchmarks/reruns/figure_rerun.py [K] [PRODUCT_DTYPE]   # K = 10 (default) or 20

With PRODUCT_DTYPE (``float32``, ``bfloat16``) the runs are computed at that precision
instead of the stored one: the cost of a recompute at that precision,
compared with the stored entries at their own precision (so they differ by rounding).

Kinds: per p, a run without attacks (alpha index 1), an attacked run (alpha index 0,
repeat 1) and the attacked run that also attacks the ideal classifier (repeat 0).
Run it on an otherwise idle machine: process time inflates when cores are shared.
"""

from __future__ import annotations

import sys
import time

import torch

from prelu_robust.device import float32_gflops, keep_freed_memory
from prelu_robust.experiments import synthetic
from prelu_robust.reporting import write_rerun_report
from prelu_robust.store import committed_store, compare_arrays


def main(n_clusters: int = 10, product_dtype: str | None = None) -> None:
    torch.set_num_threads(1)
    gflops_before = float32_gflops()
    keep_freed_memory()
    clusters = {} if n_clusters == 10 else {"n_clusters": 20, "n_positive": 8}
    store = committed_store()
    stored_config = synthetic.resolve_profile("paper", store, **clusters)[1]  # at the stored precision
    config = stored_config if product_dtype is None else synthetic.make_config("paper", **clusters, product_dtype=product_dtype)
    n_alphas, repeats = len(config.alphas), config.repeats
    kinds = [("no attack", 1, 0, (n_alphas - 1) * repeats), ("attacked", 0, 1, repeats - 1),
             ("attacked + ideal's curve", 0, 0, 1)]
    rows, projected = [], 0.0
    for p in config.powers:
        for kind, alpha_index, repeat, count in kinds:
            run = synthetic.SyntheticRun(config, float(p), alpha_index, repeat)
            settings = synthetic.SyntheticRun(stored_config, float(p), alpha_index, repeat).settings()
            start = time.process_time()
            arrays = synthetic.compute_run(run, torch.device("cpu"), show_progress=False)
            cpu_s = time.process_time() - start
            stored = store.load(synthetic.KIND, settings)
            recorded = store.meta(synthetic.KIND, settings)["cpu_s"] if stored is not None else float("nan")
            verdict = compare_arrays(stored, arrays)
            rows.append(f"| {p:g} | {kind} | {count} | {cpu_s:.0f} | {recorded:.0f} | {verdict} |")
            projected += count * cpu_s
            print(rows[-1], flush=True)
    header = "| p | kind | runs of this kind | CPU-s now | CPU-s recorded | against the store |"
    suffix, precision = ("", "") if product_dtype is None else (f"_{product_dtype.upper()}", f", products in {product_dtype}")
    print(write_rerun_report(f"RESULTS_RERUN_K{config.n_clusters}{suffix}.md",
                 f"The Section 5.1 figure (K = {config.n_clusters}) with the current engine{precision}",
                 "One run of each kind recomputed from scratch and compared with its stored entry "
                 f"(`{' '.join(['benchmarks/reruns/figure_rerun.py', str(n_clusters), *filter(None, [product_dtype])])}`).", header, rows,
                 "Projected whole figure", projected, gflops_before))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, sys.argv[2] if len(sys.argv) > 2 else None)
