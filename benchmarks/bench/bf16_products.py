"""bf16 matrix products three ways on this CPU: torch's own bf16 product, the library's
(``precision.bf16_product``: torch's on a CPU with bf16 units, else a float32 product of
the bf16 values rounded to bf16) and plain float32; and how many outputs the library's
bf16 product rounds differently from torch's (a different order of float32 summation).
Writes benchmarks/reports/RESULTS_BF16_PRODUCTS.md (``_NO_BF16_UNITS`` on a CPU without
the units, such as an AVX2-only one).

    python benchmarks/bench/bf16_products.py

Shapes: ``product_shapes.CASES``. Best of ``REPEATS`` in each of ``ROUNDS`` alternating rounds.
"""

from __future__ import annotations

import torch

from prelu_robust.precision import bf16_product, has_bf16_units
from prelu_robust.reporting import write_report
from product_shapes import CASES, alternating_best, operands

REPEATS, ROUNDS = 10, 3


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for name, (n, k, m), transpose_a, transpose_b in CASES:
        a, b = operands(n, k, m, transpose_a, transpose_b)
        a16, b16 = a.to(torch.bfloat16), b.to(torch.bfloat16)
        ways = {"torch bf16": lambda: a16 @ b16, "library bf16": lambda: bf16_product(torch.matmul, a16, b16),
                "float32": lambda: a @ b}
        seconds = alternating_best(ways, REPEATS, ROUNDS)
        differ = float((ways["torch bf16"]() != ways["library bf16"]()).double().mean())
        ms = " | ".join(f"{1e3 * s:.1f}" for s in seconds.values())
        rows.append(f"| {name} | {n} x {k} x {m} | {ms} | {seconds['torch bf16'] / seconds['library bf16']:.1f} | "
                    f"{differ:.1e} |")
        print(rows[-1], flush=True)
    units = "has bf16 units: the library's product is torch's" if has_bf16_units() else "has no bf16 units"
    file = "RESULTS_BF16_PRODUCTS.md" if has_bf16_units() else "RESULTS_BF16_PRODUCTS_NO_BF16_UNITS.md"
    print(write_report(file, "bf16 products: torch's own, the library's, and float32",
                       f"The engine's product shapes on one thread; this CPU {units}. Best of {REPEATS} in each of "
                       f"{ROUNDS} alternating rounds (`benchmarks/bench/bf16_products.py`). Differing outputs: the "
                       "share of the library's bf16 outputs not bit-identical to torch's.",
                       "| product | n x k x m | torch bf16, ms | library bf16, ms | float32, ms | "
                       "torch / library time | differing outputs |", rows))


if __name__ == "__main__":
    main()
