"""The engine's float32 matrix products through torch's BLAS (MKL in the torch wheels)
and through numpy's (OpenBLAS in the numpy wheels), on one thread each: which library
is faster on this CPU, and by how much. A measurement only: the library's products all
go through torch. Writes benchmarks/reports/RESULTS_BLAS_FLOAT32.md.

    python benchmarks/bench/blas_float32.py

Shapes: ``product_shapes.CASES``. Best of ``REPEATS`` in each of ``ROUNDS`` alternating rounds.
"""

from __future__ import annotations

import os
import sys

if "numpy" in sys.modules:  # OpenBLAS reads its thread count once, when numpy loads it
    raise SystemExit("blas_float32: run it as a script (numpy was loaded before its thread count could be set)")
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # one thread, as torch below

import torch  # noqa: E402

from prelu_robust.reporting import write_report  # noqa: E402
from product_shapes import CASES, alternating_best, operands  # noqa: E402

REPEATS, ROUNDS = 20, 3


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for name, (n, k, m), transpose_a, transpose_b in CASES:
        a, b = operands(n, k, m, transpose_a, transpose_b)
        an, bn = a.numpy(), b.numpy()  # views of the same memory
        seconds = alternating_best({"torch": lambda: a @ b, "numpy": lambda: an @ bn}, REPEATS, ROUNDS)
        gflops = {lib: 2 * n * k * m / s / 1e9 for lib, s in seconds.items()}
        rows.append(f"| {name} | {n} x {k} x {m} | {gflops['torch']:.0f} | {gflops['numpy']:.0f} | "
                    f"{seconds['numpy'] / seconds['torch']:.2f} |")
        print(rows[-1], flush=True)
    print(write_report("RESULTS_BLAS_FLOAT32.md", "Float32 products: torch's BLAS against numpy's",
                       f"The engine's product shapes on one thread, torch {torch.__version__} "
                       f"(its BLAS: {torch.backends.mkl.is_available() and 'MKL' or 'not MKL'}) against numpy's "
                       f"OpenBLAS, best of {REPEATS} in each of {ROUNDS} alternating rounds "
                       "(`benchmarks/bench/blas_float32.py`).",
                       "| product | n x k x m | torch GFLOP/s | numpy GFLOP/s | numpy / torch time |", rows))


if __name__ == "__main__":
    main()
