"""An MNIST page's cost with the *current* engine, and a determinism check of the
store: for each p, repeat 0 is recomputed from scratch (training, the Linf curve
and, for ten classes, Table 1), timed, and compared array by array with its stored
model and run; the times are projected onto the page's runs (4 powers x 5 repeats).
Writes benchmarks/reports/RESULTS_RERUN_MNIST<N>.md.

    python benchmarks/reruns/mnist_rerun.py [N]      # N = 10 (default, with Table 1) or 2 (parity)

The projection takes repeat 0 as typical of its p (recorded per-repeat costs vary
by ~10%). Run it on an otherwise idle machine: process time inflates when cores
are shared.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

from prelu_robust.device import float32_gflops, keep_freed_memory
from prelu_robust.experiments import mnist
from prelu_robust.reporting import write_rerun_report
from prelu_robust.store import ResultsStore, committed_store, compare_arrays

TIMINGS = ("train_seconds", "attack_seconds")


def recorded_cpu_s(store: ResultsStore, kind: str, settings: dict) -> float:
    """The CPU seconds the stored entry took (the run's exclude training), or NaN."""
    return store.meta(kind, settings)["cpu_s"] if store.load(kind, settings) is not None else float("nan")


def main(n_class: int = 10) -> None:
    torch.set_num_threads(1)
    gflops_before = float32_gflops()
    keep_freed_memory()
    stored, device = committed_store(), torch.device("cpu")
    config = mnist.resolve_profile("paper", stored, n_class=n_class, **({} if n_class == 10 else {"table1": False}))[1]
    data = mnist.load_data(config)
    rows, projected = [], 0.0
    for p in config.powers:
        run = mnist.MnistRun(config, float(p), 0)
        settings, model_settings = run.settings(), run.model_settings()
        with tempfile.TemporaryDirectory() as scratch:
            fresh = ResultsStore(Path(scratch))
            start = time.process_time()
            mnist.trained_model(run, data, device, fresh, show_progress=False)
            train_s = time.process_time() - start
            start = time.process_time()
            arrays = mnist.compute_run(run, data, device, fresh, show_progress=False)  # the model is cached now
            attack_s = time.process_time() - start
            model = fresh.load(mnist.MODEL_KIND, model_settings)
        verdict_model = compare_arrays(stored.load(mnist.MODEL_KIND, model_settings), model, TIMINGS)
        verdict_run = compare_arrays(stored.load(mnist.KIND, settings), arrays, TIMINGS)
        rows.append(f"| {p:g} | {train_s:.0f} | {recorded_cpu_s(stored, mnist.MODEL_KIND, model_settings):.0f} | "
                    f"{attack_s:.0f} | {recorded_cpu_s(stored, mnist.KIND, settings):.0f} | {verdict_model} | "
                    f"{verdict_run} |")
        projected += config.repeats * (train_s + attack_s)
        print(rows[-1], flush=True)
    name = "ten classes, Linf curve and Table 1" if n_class == 10 else "parity, Linf curve"
    header = ("| p | training now | training recorded | attacks now | attacks recorded | model against the store "
              "| run against the store |")
    print(write_rerun_report(f"RESULTS_RERUN_MNIST{n_class}.md", f"The MNIST page ({name}) with the current engine",
                 "Repeat 0 of each p recomputed from scratch and compared with its stored model and run "
                 "(`benchmarks/reruns/mnist_rerun.py`). CPU seconds; the attack columns exclude training.", header, rows,
                 f"Projected page ({len(config.powers)} powers x {config.repeats} repeats)", projected, gflops_before))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
