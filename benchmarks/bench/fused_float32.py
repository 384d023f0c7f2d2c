"""The float32 loops of ``prelu_robust.kernels`` against the torch ops they replace: one
APGD-CE step on a Section 5.2 probe (forward and backward to the input through
``PReLUNet.features``), timed with the loops on and off, in alternating rounds, and
checked to be bit-identical. Writes benchmarks/reports/RESULTS_FUSED_FLOAT32.md.

    python benchmarks/bench/fused_float32.py

Shape: the Caltech-256 stand-in's attack batch (1,000 features, 1280 -> 2000 -> 10,
centred, inputs normalised). One torch thread; each figure the best of ``REPEATS``
timings in each of ``ROUNDS`` rounds, the best round kept.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from prelu_robust import kernels
from prelu_robust.device import best_seconds, keep_freed_memory
from prelu_robust.models import PReLUNet
from prelu_robust.reporting import write_report

REPEATS, ROUNDS = 10, 3


def attack_step(p: float, gen: torch.Generator) -> Callable[[], tuple]:
    """The input gradient of the summed cross-entropy, as APGD-CE takes it."""
    net = PReLUNet(1280, 2000, p=p, out_dim=10, normalize_input=True, center=torch.randn(1280, generator=gen))
    net.init_reference_mnist(gen).requires_grad_(False)
    x, y = torch.randn(1000, 1280, generator=gen), torch.randint(0, 10, (1000,), generator=gen)

    def step() -> tuple:
        xr = x.clone().requires_grad_(True)
        logits = net(xr)
        loss = torch.nn.functional.cross_entropy(logits, y, reduction="sum")
        return logits.detach(), torch.autograd.grad(loss, xr)[0]
    return step


def compare(step: Callable[[], tuple]) -> tuple[float, float, bool]:
    """(torch seconds, fused seconds, whether every output is bit-identical)."""
    available = kernels.available
    timings: dict[bool, float] = {True: float("inf"), False: float("inf")}
    outputs = {}
    try:
        for _ in range(ROUNDS):
            for fused in (False, True):
                kernels.available = lambda fused=fused: fused and available()
                timings[fused] = min(timings[fused], best_seconds(step, REPEATS))
                outputs[fused] = step()
    finally:
        kernels.available = available
    same = all(torch.equal(a, b) for a, b in zip(outputs[False], outputs[True]))
    return timings[False], timings[True], same


def main() -> None:
    torch.set_num_threads(1)
    keep_freed_memory()
    rows = []
    for p in (1.0, *kernels.HIDDEN_POWERS):
        plain, fused, same = compare(attack_step(p, torch.Generator().manual_seed(0)))
        rows.append(f"| {p:g} | {plain * 1e3:.1f} | {fused * 1e3:.1f} | {fused / plain:.2f} | "
                    f"{'yes' if same else 'NO'} |")
        print(rows[-1], flush=True)
    print(write_report("RESULTS_FUSED_FLOAT32.md", "Float32 fused loops against the torch ops: one APGD-CE step",
                       "Each step timed with `kernels`' float32 loops off (torch) and on (fused), alternating "
                       f"rounds, best of {REPEATS} in each of {ROUNDS} rounds (`benchmarks/bench/fused_float32.py`).",
                       "| p | torch, ms | fused, ms | fused / torch | outputs bit-identical |", rows))


if __name__ == "__main__":
    main()
