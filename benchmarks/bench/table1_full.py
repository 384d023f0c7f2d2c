"""Table 1 on all 10,000 MNIST test images against the page's fixed draw of 1,000, model
by model. Each model (p, repeat) of the stored paper profile is retrained on this CPU at
its stored settings (its product precision included), checked against its stored run
(clean accuracy, the Linf curve at 0.1 on all 10,000 images), and attacked with Table 1's
six APGD-CE attacks and seeds (:func:`prelu_robust.experiments.mnist.table1_accuracy`)
on every test image. Each model's result is kept in benchmarks/cache/table1_full/ (git-
ignored), so a run computes only the models not there yet and the report covers all that
are. Writes benchmarks/reports/RESULTS_TABLE1_FULL.md.

    python benchmarks/bench/table1_full.py P:R [P:R ...]    # e.g. 1:0 4:0; none: report only
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

from prelu_robust import paper, paths
from prelu_robust.device import cpu_description, keep_freed_memory
from prelu_robust.experiments import mnist
from prelu_robust.reporting import write_report
from prelu_robust.store import ResultsStore, committed_store

CACHE = paths.BENCH_CACHE / "table1_full"
LINF_CHECK = 0.1  # on the curve's grid and in Table 1: the same radius, attacked both ways


def compute(config: mnist.MnistConfig, p: float, repeat: int, data: mnist.ImageSplit) -> dict:
    """One model: retrained (its weights cached in CACHE), checked and attacked."""
    run = mnist.MnistRun(config, p, repeat)
    start = time.process_time()
    net, history = mnist.trained_model(run, data, torch.device("cpu"), ResultsStore(CACHE / "models"), False)
    train_s = time.process_time() - start
    start = time.process_time()
    table = mnist.table1_accuracy(net, data.x_test, data.y_test, run.attack_seed, config.attack_batch,
                                  False, config.attack_product_dtype)
    stored = committed_store().load(mnist.KIND, run.settings())
    linf = config.eps_grid.index(LINF_CHECK)
    return {"p": p, "repeat": repeat, "table_full": table.tolist(), "table_draw": stored["table1"].tolist(),
            "clean_now": float(history["test_accuracy"][-1]), "clean_stored": float(stored["test_accuracy"][-1]),
            "linf_curve_stored": float(stored["robust_accuracy"][linf]), "train_s": train_s,
            "table_s": time.process_time() - start, "cpu": cpu_description(),
            "precision": f"{config.product_dtype} training, {config.attack_product_dtype} attacks"}


def report(results: list[dict]) -> str:
    """The report of every cached model, by p then repeat."""
    cells = lambda values: " | ".join(f"{v:.3f}" for v in values)
    rows = []
    for p in sorted({r["p"] for r in results}):
        models = sorted((r for r in results if r["p"] == p), key=lambda r: r["repeat"])
        for r in models:
            rows.append(f"| {p:g} | {r['repeat']} | all 10,000 | {cells(r['table_full'])} | "
                        f"{r['clean_now']:.4f} (stored {r['clean_stored']:.4f}) | {r['linf_curve_stored']:.4f} | "
                        f"{r['train_s']:.0f} + {r['table_s']:.0f} |")
            rows.append(f"| | | stored draw of 1,000 | {cells(r['table_draw'])} | | | |")
        for images, key in (("all 10,000", "table_full"), ("stored draw of 1,000", "table_draw")):
            values = np.array([r[key] for r in models])  # (repeats, attacks)
            spread = values.std(axis=0, ddof=1) if len(models) > 1 else np.full(values.shape[1], np.nan)
            rows.append(f"| **{p:g}** | **mean ± std of {len(models)}** | {images} | "
                        + " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(values.mean(0), spread)) + " | | | |")
        if p in paper.MNIST_TABLE1:
            rows.append(f"| **{p:g}** | | **paper** | {cells(paper.MNIST_TABLE1[p])} | | | |")
    header = ("| p | repeat | images | " + " | ".join(f"{n} {e:g}" for n, e in paper.TABLE1)
              + f" | clean, retrained | Linf {LINF_CHECK:g} on the stored curve | CPU-s: training + table |")
    kinds = sorted({f"{r['cpu']}: {r['precision']}" for r in results})
    table_s, train_s = sum(r["table_s"] for r in results), sum(r["train_s"] for r in results)
    return write_report("RESULTS_TABLE1_FULL.md", "MNIST Table 1 on all 10,000 test images, model by model",
                        "`benchmarks/bench/table1_full.py`: each model of the stored paper profile retrained at its "
                        "stored settings, then Table 1's APGD-CE attacks (AutoAttack 'standard', 5 restarts for L1; "
                        "the page's seeds) on every test image, beside the stored run's table on the fixed draw of "
                        "1,000. The retrained model's clean accuracy is set beside the stored one's, and its Table 1 "
                        f"Linf {LINF_CHECK:g} beside the stored curve's (all 10,000 images, the stored model): a CPU "
                        "that sums in another order retrains a sibling of the stored model, not a copy. "
                        f"Computed on {'; '.join(kinds)}.", header, rows,
                        f"\nThe table alone (six attacks on all 10,000 images): {table_s:.0f} CPU-s for {len(results)} "
                        f"models ({table_s / 3600:.2f} CPU-h); their retraining, {train_s:.0f} CPU-s, apart.\n")


def main(models: list[tuple[float, int]]) -> None:
    torch.set_num_threads(1)
    keep_freed_memory()
    config = mnist.resolve_profile("paper", committed_store(), n_class=paper.MNIST_CLASSES)[1]  # stored precision
    CACHE.mkdir(parents=True, exist_ok=True)
    data = mnist.load_data(config) if models else None
    for p, repeat in models:
        file = CACHE / f"p{p:g}_r{repeat}.json"
        if file.exists():
            continue
        result = compute(config, p, repeat, data)
        file.write_text(json.dumps(result))
        print(f"p={p:g} repeat={repeat}: {np.round(result['table_full'], 3)} in {result['table_s']:.0f} CPU-s", flush=True)
    print(report([json.loads(f.read_text()) for f in sorted(CACHE.glob("p*_r*.json"))]))


if __name__ == "__main__":
    main([(float(p), int(r)) for p, r in (arg.split(":") for arg in sys.argv[1:])])
