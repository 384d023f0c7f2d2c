"""The MNIST pages under a change of engine: every run of both pages, old store
against the current one, beside the spread over repeats. Writes
benchmarks/reports/RESULTS_ENGINE_CHANGE_MNIST.md.

    python benchmarks/reruns/mnist_engine_change.py OLD_STORE

OLD_STORE is a paper store of the float32 engine (its ``mnist-run`` entries; git
history before commit 6d0f15a keeps them), looked up with the settings that engine
lacked dropped (``product_dtype``, ``attack_product_dtype``) and its attack batch
(1,000). The runs
of the two engines differ in training (the models are not the same), so the
comparison is of what the pages show: means over the five repeats, against the range
the repeats span.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from prelu_robust import paths
from prelu_robust.experiments import mnist
from prelu_robust.store import ResultsStore, committed_store

PAGES = {"parity": {"n_class": 2, "table1": False}, "ten classes": {"n_class": 10}}
FIELDS = ("test_accuracy", "stable_rank", "robust_accuracy", "table1")
DROPPED, CHANGED = ("product_dtype", "attack_product_dtype"), {"attack_batch": 1000}  # the float32 engine's keys


def runs(store: ResultsStore, config: mnist.MnistConfig, p: float, old: bool) -> dict[str, np.ndarray]:
    """Field -> (repeats, ...) array; the per-epoch fields at their last epoch."""
    loaded = []
    for repeat in range(config.repeats):
        settings = mnist.MnistRun(config, float(p), repeat).settings()
        if old:
            settings = {k: v for k, v in settings.items() if k not in DROPPED} | CHANGED
        arrays = store.load(mnist.KIND, settings)
        if arrays is None:
            sys.exit(f"p={p:g} repeat {repeat} missing from {store.root}: see this script's docstring")
        loaded.append(arrays)
    out = {k: np.stack([a[k] for a in loaded]) for k in FIELDS if k in loaded[0]}
    for k in ("test_accuracy", "stable_rank"):
        out[k] = out[k][:, -1]
    return out


def main(old_root: str) -> None:
    old_store, new_store = ResultsStore(Path(old_root)), committed_store()
    out = ["# The MNIST pages under a change of engine\n",
           f"{time.strftime('%Y-%m-%d %H:%M %Z')}. Every run of both MNIST pages, old engine (`{old_root}`) "
           f"against the current one (`results/paper`); the old engine lacked the settings {', '.join(DROPPED)} "
           f"and attacked {CHANGED['attack_batch']} points at a time. "
           "Each cell: the change of the mean over the five repeats (new minus old), and in brackets the range the "
           "old repeats span (max minus min). Curves and Table 1: the largest change over radii / entries, with the "
           "range at that radius / entry. Written by `benchmarks/reruns/mnist_engine_change.py`.\n"]
    for page, overrides in PAGES.items():
        config = mnist.make_config("paper", **overrides)
        header = ["p", "clean test accuracy", "stable rank (last epoch)", "Linf robust accuracy"]
        header += ["Table 1"] if config.table1 else []
        out += [f"## {page.capitalize()}\n", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for p in config.powers:
            old, new = runs(old_store, config, p, old=True), runs(new_store, config, p, old=False)
            cells = [f"{p:g}"]
            for k in FIELDS if config.table1 else FIELDS[:3]:
                change = new[k].mean(0) - old[k].mean(0)
                spread = np.ptp(old[k], axis=0)
                if change.ndim == 0:
                    cells.append(f"{change:+.4f} ({spread:.4f})")
                else:
                    i = int(np.abs(change).argmax())
                    where = (f"eps {config.eps_grid[i]:.3f}" if k == "robust_accuracy"
                             else "{} {:g}".format(*mnist.TABLE1[i]))
                    cells.append(f"{change[i]:+.4f} at {where} ({spread[i]:.4f})")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    text = "\n".join(out)
    (paths.REPORTS / "RESULTS_ENGINE_CHANGE_MNIST.md").write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1])
