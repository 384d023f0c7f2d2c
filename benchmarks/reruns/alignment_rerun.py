"""A determinism check of the alignment page's store: both runs (p = 1 and p = 3) are
recomputed from scratch, timed, and compared array by array with their stored entries.
Writes benchmarks/reports/RESULTS_RERUN_ALIGNMENT.md.

    python benchmarks/reruns/alignment_rerun.py
"""

from __future__ import annotations

import time

import torch

from prelu_robust.device import float32_gflops
from prelu_robust.experiments import alignment
from prelu_robust.reporting import write_rerun_report
from prelu_robust.store import committed_store, compare_arrays


def main() -> None:
    torch.set_num_threads(1)
    gflops_before = float32_gflops()
    config, store = alignment.make_config("paper"), committed_store()
    rows, total = [], 0.0
    for p in config.powers:
        run = alignment.AlignmentRun(config, float(p))
        start = time.process_time()
        arrays = alignment.compute_run(run)
        cpu_s = time.process_time() - start
        total += cpu_s
        recorded = store.meta(alignment.KIND, run.settings())["cpu_s"] if store.has(alignment.KIND, run.settings()) \
            else float("nan")
        rows.append(f"| {p:g} | {cpu_s:.0f} | {recorded:.0f} | "
                    f"{compare_arrays(store.load(alignment.KIND, run.settings()), arrays)} |")
        print(rows[-1], flush=True)
    print(write_rerun_report("RESULTS_RERUN_ALIGNMENT.md", "The alignment page with the current engine",
                             "Both runs recomputed from scratch and compared with their stored entries "
                             "(`benchmarks/reruns/alignment_rerun.py`).",
                             "| p | CPU-s now | CPU-s recorded | against the store |", rows, "The whole page", total,
                             gflops_before))


if __name__ == "__main__":
    main()
