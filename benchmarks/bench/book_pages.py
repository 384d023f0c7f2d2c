"""Every page of the book executed from the committed results, as `make book` does, one
page at a time and two side by side (`run_notebook all --jobs`): wall and CPU time.
Writes benchmarks/reports/RESULTS_BOOK_PAGES.md.

    python benchmarks/bench/book_pages.py

Each configuration runs ROUNDS times, interleaved with the other, into a fresh output
folder, and keeps its fastest; CPU time is the driver's and its kernels' (user + system).
Run it on an otherwise idle machine after `make book` (caches warm, nothing computed).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

from prelu_robust import paths
from prelu_robust.reporting import write_report

JOBS = (1, 2)
ROUNDS = 2


def timed(jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of executing every page ``jobs`` at a time."""
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "prelu_robust.run_notebook", "all", "--out", out, "--jobs", str(jobs)],
                       cwd=paths.CHECKOUT, check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    timings: dict[int, tuple[float, float]] = {}
    for _ in range(ROUNDS):  # interleaved: a shared machine's slow minutes spoil no configuration alone
        for jobs in JOBS:
            timings[jobs] = min(timings.get(jobs, (float("inf"), 0.0)), timed(jobs))
            print(jobs, timings[jobs], flush=True)
    one_wall, one_cpu = timings[1]
    rows = [f"| {jobs} | {wall:.1f} | {cpu:.1f} | {one_wall / wall:.2f}x | {cpu / one_cpu:.2f} |"
            for jobs, (wall, cpu) in timings.items()]
    print(write_report(
        "RESULTS_BOOK_PAGES.md", "The book's pages, one at a time and side by side",
        "`benchmarks/bench/book_pages.py`: `run_notebook all` from the committed results (nothing computed), "
        f"as `make book` executes the pages; each configuration {ROUNDS} times, interleaved, the fastest kept; "
        "CPU: the driver's and its kernels' user + system seconds. Side by side, each kernel gets its share of "
        "the cores as torch threads, and the reproducibility page runs after the others.",
        "| pages at once | wall s | CPU s | speed-up | CPU against one at a time |", rows,
        threads="each kernel its share of the cores"))


if __name__ == "__main__":
    main()
