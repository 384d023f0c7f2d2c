"""The alignment-phase step boost (train.SGDConfig, schedule="alignment_boost") against
the engine's schedule (loss_adaptive) on paper-profile runs: the same run computed both
ways, timed, and compared. Not used by any profile (adopting it changes every store key).

    python benchmarks/alignment_boost.py INDEX COUNT   # this process's share of the runs
    python benchmarks/alignment_boost.py report        # writes benchmarks/RESULTS_BOOST.md

Each run's comparison is cached in benchmarks/cache/boost/ (git-ignored), so the
processes can be stopped and resumed.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from prelu_robust.experiments import synthetic
from prelu_robust.experiments.common import shard_of

HERE = Path(__file__).parent
CACHE = HERE / "cache" / "boost"
K20 = {"n_clusters": 20, "n_positive": 8}
# (clusters, p, alpha index, repeat): p=3 without attacks (the figures' largest share),
# p=1, and one attacked p=3 model for the robust-accuracy curve; ordered so that two
# processes taking every other run get about the same work
RUNS = [(K20, 3.0, 1, 0), ({}, 3.0, 0, 1), ({}, 3.0, 1, 0), ({}, 1.0, 1, 0), ({}, 3.0, 1, 1)]


def _name(clusters: dict, p: float, alpha_index: int, repeat: int) -> str:
    return f"K{clusters.get('n_clusters', 10)}_p{p:g}_a{alpha_index}_r{repeat}"


def compare_run(clusters: dict, p: float, alpha_index: int, repeat: int) -> dict:
    settings = synthetic.make_config("paper", **clusters).run_settings(p, alpha_index, repeat)
    out = {}
    for schedule in ("loss_adaptive", "alignment_boost"):
        start = time.process_time()
        arrays = synthetic.compute_run({**settings, "schedule": schedule}, torch.device("cpu"), show_progress=False)
        merged = int(arrays["surrogate_neurons"])
        out[schedule] = {
            "cpu_s": time.process_time() - start, "steps": int(arrays["steps"]),
            "final_loss": float(np.exp(arrays["log_loss"][-1])), "active": int(arrays["active_neurons"]),
            "merged": merged, "distance": float(arrays["distance"]),
            "test_accuracy": float(arrays["test_accuracy"]),
            # the best cosine of each centre (or mu_+/-) with the dominant neurons
            "best_cosines": np.asarray(arrays["cosines"]).max(0).tolist(),
            "robust_reference": np.asarray(arrays.get("robust_reference", [])).tolist(),
        }
    return out


def report() -> None:
    eps = synthetic.make_config("paper").eps_grid
    lines = ["# Alignment-phase step boost against the engine's schedule\n",
             f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {platform.machine()}, one torch thread, one process per core. "
             "Each run computed twice from scratch with the paper profile's settings: `loss_adaptive` (the "
             "profiles' schedule) and `alignment_boost` (max relative change per step 0.02 while the loss is "
             "within 10% of its initial value). CPU-s is the whole run (training, Algorithm 1, attacks).\n",
             "| run | schedule | CPU-s | SGD steps | final loss | active / merged neurons | "
             "worst-covered direction (best cosine) | dist to ideal | test acc |", "|---|---|---|---|---|---|---|---|---|"]
    curves = []
    for run in RUNS:
        path = CACHE / f"{_name(*run)}.json"
        if not path.is_file():
            lines.append(f"| {_name(*run)} | not computed | | | | | | | |")
            continue
        result = json.loads(path.read_text())
        for schedule, r in result.items():
            # the directions the theory names: mu_+ and mu_- for p=1, the centres for p=3
            named = r["best_cosines"][:2] if run[1] <= 2 else r["best_cosines"][2:]
            lines.append(f"| {_name(*run)} | {schedule} | {r['cpu_s']:.0f} | {r['steps']} | {r['final_loss']:.3e} | "
                         f"{r['active']} / {r['merged']} | {min(named):.4f} | {r['distance']:.2e} | "
                         f"{r['test_accuracy']:.4f} |")
            if r["robust_reference"]:
                curves.append((f"{_name(*run)} {schedule}", r["robust_reference"]))
    if curves:
        lines += ["\nReference PGD (2000 steps, 20,000 test points):\n",
                  "| model | " + " | ".join(f"{e:.3f}" for e in eps) + " |", "|---|" + "---|" * len(eps)]
        lines += [f"| {name} | " + " | ".join(f"{a:.4f}" for a in curve) + " |" for name, curve in curves]
        if len(curves) == 2:
            gap = max(abs(a - b) for a, b in zip(curves[0][1], curves[1][1]))
            lines.append(f"\nLargest difference between the two schedules: {gap:.4f} (target: within 0.02).")
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS_BOOST.md").write_text(text)
    print(text)


def main(argv: list[str]) -> None:
    if argv[:1] == ["report"]:
        report()
        return
    torch.set_num_threads(1)
    index, count = (int(a) for a in argv[:2]) if len(argv) >= 2 else (0, 1)
    CACHE.mkdir(parents=True, exist_ok=True)
    for run in shard_of(RUNS, (index, count)):
        path = CACHE / f"{_name(*run)}.json"
        if not path.is_file():
            path.write_text(json.dumps(compare_run(*run), indent=1))
        print(_name(*run), "done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
