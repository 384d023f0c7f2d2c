"""The two steerings at the shipped sweeps' sizes: what the merged surrogate moves on the
sweep pages' curves, and what the exact steering costs there.

For each p and repeat of the ``sweep`` profile (D = 100, width 200, 500 attacked points,
2000 PGD steps of 0.1), the run's net is trained as the sweep trains it, then attacked by
each variant (as written, exact, strong) steered both ways (``engine.STEERINGS``), the
verdicts always the full net's. One row per (p, repeat, variant): the largest difference
between the two curves over the radii, and each steering's CPU seconds.

    python benchmarks/bench/steering_sweep.py --powers 1,1.25,1.5,1.75,2 \\
        --report benchmarks/reports/RESULTS_STEERING_SWEEP.md
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from prelu_robust.attacks import as_written, exact, strong
from prelu_robust.device import cpu_description
from prelu_robust.engine import STEERINGS, SpanEngine
from prelu_robust.experiments import synthetic
from prelu_robust.reporting import markdown_table
from prelu_robust.store import git_revision


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--powers", default="1,2")
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    c = synthetic.PROFILES["sweep"]
    attacks = {"as_written": as_written(c.attack_steps, c.attack_step_size, loss_batch=c.attack_points),
               "exact": exact(c.attack_steps, c.attack_step_size),
               "strong": strong(c.attack_steps, c.attack_step_size, restarts=synthetic.VARIANT_RESTARTS)}
    rows, worst = [], {}
    for p in (float(v) for v in args.powers.split(",")):
        for repeat in range(c.repeats):
            trained = synthetic.train_run(synthetic.SyntheticRun(c, p, 0, repeat), torch.device("cpu"),
                                          show_progress=False)
            x, y = trained.x_test[: c.attack_points], trained.y_test[: c.attack_points]
            engines = {steering: SpanEngine.build(trained.net, surrogate_tol=c.surrogate_tol, prune_tol=c.prune_tol,
                                                  extra=trained.spec.centers(), steering=steering)
                       for steering in STEERINGS}
            for name, attack in attacks.items():
                curves, seconds = {}, {}
                for steering, engine in engines.items():
                    start = time.process_time()
                    curves[steering] = engine.robust_accuracy_curve(
                        x, y, c.eps_grid, attack, seed=0, carry_broken=attack.keep_best,
                        centres=synthetic.centres_of(trained.spec)).numpy()
                    seconds[steering] = time.process_time() - start
                gap = float(np.abs(curves["merged"] - curves["exact"]).max())
                worst[p, name] = max(worst.get((p, name), 0.0), gap)
                rows.append([f"{p:g}", repeat, name, engines["merged"].surrogate.width, engines["exact"].surrogate.width,
                             f"{gap:.4f}", f"{seconds['merged']:.1f}", f"{seconds['exact']:.1f}"])
                print(*rows[-1], flush=True)
    summary = "; ".join(f"p={p:g} {name.replace('_', ' ')} {gap:.4f}" for (p, name), gap in worst.items())
    text = "\n".join([
        "# The merged and the exact steering at the shipped sweeps' sizes", "",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {cpu_description()}, one thread; git {git_revision()}. "
        "Written by `benchmarks/bench/steering_sweep.py` (its docstring says what is measured).", "",
        f"Largest difference between the two steerings' curves over repeats and radii: {summary}.", "",
        markdown_table(["p", "repeat", "variant", "merged units", "exact neurons", "max abs(merged - exact)",
                        "merged CPU-s", "exact CPU-s"], rows), ""])
    with open(args.report, "w") as out:
        out.write(text)
    print(text)


if __name__ == "__main__":
    main()
