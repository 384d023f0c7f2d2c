"""The Caltech-256 page's stand-in with the *current* code, and a determinism check of
its store: for each p, repeat 0 is recomputed from scratch (the probe's 51 epochs with
their statistics, then the Linf curve), timed, and compared array by array with its
stored run; the times are projected onto the page's 20 runs. The features come from the
disk cache (extracted first if missing; that one-time cost is the store's, reported by
``benchmarks/bench/caltech_cost.py``). Writes benchmarks/reports/RESULTS_RERUN_CALTECH.md.

    python benchmarks/reruns/caltech_rerun.py

The projection takes repeat 0 as typical of its p (the recorded costs of the repeats
vary by ~10%). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import time

import torch

from prelu_robust.device import float32_gflops, keep_freed_memory
from prelu_robust.experiments import caltech
from prelu_robust.reporting import write_rerun_report
from prelu_robust.store import committed_store, compare_arrays

STANDIN = dict(dataset="digits_garments", backbone="efficientnet_lite2")


def main() -> None:
    torch.set_num_threads(1)
    gflops_before = float32_gflops()
    keep_freed_memory()
    store = committed_store()
    config = caltech.resolve_profile("paper", store, **STANDIN)[1]
    split = caltech.load_features(config)
    rows, projected = [], 0.0
    for p in config.powers:
        run = caltech.CaltechRun(config, float(p), 0)
        start = time.process_time()
        arrays = caltech.compute_run(run, split, torch.device("cpu"), show_progress=False)
        cpu_s = time.process_time() - start
        stored = store.load(caltech.KIND, run.settings())
        recorded = store.meta(caltech.KIND, run.settings())["cpu_s"] if stored is not None else float("nan")
        verdict = compare_arrays(stored, arrays, ("train_seconds", "attack_seconds"))
        rows.append(f"| {p:g} | {cpu_s:.0f} | {recorded:.0f} | {float(arrays['train_seconds']):.0f} | "
                    f"{float(arrays['attack_seconds']):.0f} | {verdict} |")
        projected += config.repeats * cpu_s
        print(rows[-1], flush=True)
    header = "| p | CPU-s now | CPU-s recorded | training, wall s | attacks, wall s | against the store |"
    print(write_rerun_report(
        "RESULTS_RERUN_CALTECH.md", "The Caltech-256 page's stand-in with the current code",
        f"Repeat 0 of each p recomputed from scratch from the cached features ({split.description}; "
        f"backbone {config.backbone}) and compared with its stored run (`benchmarks/reruns/caltech_rerun.py`); "
        "the features' one-time extraction is not included.", header, rows,
        f"Projected {len(config.runs())} runs (everything after the features)", projected, gflops_before))


if __name__ == "__main__":
    main()
