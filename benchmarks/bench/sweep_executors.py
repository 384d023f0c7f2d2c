"""A sweep's runs on 1 and 2 workers of each executor (worker processes, a local Dask
cluster): wall time, speed-up over one worker, and the executor's overhead per run.
Writes benchmarks/reports/RESULTS_SWEEP_EXECUTORS.md.

    python benchmarks/bench/sweep_executors.py

The sweep: the synthetic notebook at the ci sizes, p in {1, 3}, three noise levels, four
repeats (each point: twelve runs and the attack variants of its four attacked models; a
few minutes on one worker, so that starting the workers is a small part of it),
computed from scratch into a fresh results root for every configuration; the pages are
not executed (they only load). Overhead per run: (wall x workers - the runs' own summed
wall time) / runs, what the executor adds to each run (start-up, transfer, idle). Each
configuration runs ROUNDS times, interleaved with the others, and keeps its fastest. Run
it on an otherwise idle machine.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from prelu_robust import paths, sweep
from prelu_robust.reporting import write_report
from prelu_robust.store import ResultsStore

SWEEP = {"notebook": "notebooks/synthetic_gmm.py",
         "parameters": {"profile": "ci", "alphas": [0.01, 0.1, 0.2], "repeats": 4, "product_dtype": "float32"},
         "axes": {"powers": [[1], [3]]}}
CONFIGURATIONS = (("local", 1), ("local", 2), ("dask", 1), ("dask", 2))
ROUNDS = 2


def timed(executor: str, workers: int) -> tuple[float, float, int]:
    """The sweep computed from scratch: its wall time, the runs' own summed wall time, the runs."""
    with tempfile.TemporaryDirectory() as scratch:
        os.environ[paths.RESULTS_ENV] = scratch
        plan = sweep.checked("bench", SWEEP)
        start = time.perf_counter()
        report = sweep.run(plan, executor=executor, workers=workers, execute_notebooks=False)
        wall = time.perf_counter() - start
        own = sum(ResultsStore(Path(scratch) / "ci").meta(kind, one.settings())["wall_s"]
                  for point in plan.points() for kind, one in sweep.point_runs(plan, point).runs)
    return wall, own, report.computed


def main() -> None:
    # every configuration ROUNDS times, interleaved, keeping each one's fastest: a shared
    # machine's slow minutes then spoil no configuration alone
    timings: dict[tuple[str, int], tuple[float, float, int]] = {}
    for _ in range(ROUNDS):
        for configuration in CONFIGURATIONS:
            timings[configuration] = min(timings.get(configuration, (float("inf"),)), timed(*configuration))
    rows, single, single_own = [], {}, {}
    for (executor, workers), (wall, own, computed) in timings.items():
        single.setdefault(executor, wall)
        single_own.setdefault(executor, own)
        overhead = (wall * workers - own) / computed
        rows.append(f"| {executor} | {workers} | {computed} | {wall:.1f} | {own:.1f} | "
                    f"{single[executor] / wall:.2f}x | {single_own[executor] * workers / own:.2f}x | {overhead:.2f} |")
        print(rows[-1], flush=True)
    header = ("| executor | workers | runs | wall s | runs' own wall s (sum) | speed-up over 1 worker | "
              "the runs' own speed-up | overhead per run, s |")
    print(write_report(
        "RESULTS_SWEEP_EXECUTORS.md", "A sweep's runs on each executor",
        "`benchmarks/bench/sweep_executors.py`: the synthetic notebook at the ci sizes, p in {1, 3}, three noise "
        "levels, four repeats, computed from scratch per configuration (pages not executed); the time includes "
        f"starting the workers; each configuration {ROUNDS} times, interleaved, the fastest kept. *The runs' own "
        "speed-up*: workers x (the runs' summed wall time on one worker) / (their sum now), the speed-up the "
        "machine allows when the runs slow each other down (shared memory bandwidth and caches); an executor "
        "that adds nothing reaches it.", header, rows, threads="one torch thread per worker"))

if __name__ == "__main__":
    main()
