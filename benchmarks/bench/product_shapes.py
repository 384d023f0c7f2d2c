"""The engine's matrix products, as the benchmarks of products time them: ``a @ b`` with
``b`` stored as the engine stores it. The synthetic SGD step (a batch of 100 in
D = 1000, width 2000: forward ``x W^T``, weight gradient ``slope^T x``), an APGD-CE step
of a Caltech-256 stand-in probe (1,000 features of 1280, width 2000: forward, input
gradient ``grad_z W``) and of an MNIST net (1,000 images, width 500)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from prelu_robust.device import best_seconds

__all__ = ["CASES", "operands", "alternating_best"]


def operands(n: int, k: int, m: int, transpose_a: bool, transpose_b: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``a`` (n, k) and ``b`` (k, m), each possibly a transposed view of a contiguous array."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(k, n, generator=gen).T if transpose_a else torch.randn(n, k, generator=gen)
    b = torch.randn(m, k, generator=gen).T if transpose_b else torch.randn(k, m, generator=gen)
    return a, b


CASES = [  # name, (n, k, m), a transposed, b transposed
    ("synthetic SGD: forward x W^T", (100, 1000, 2000), False, True),
    ("synthetic SGD: weight gradient slope^T x", (2000, 100, 1000), True, False),
    ("Caltech-256 probe APGD: forward", (1000, 1280, 2000), False, True),
    ("Caltech-256 probe APGD: input gradient grad_z W", (1000, 2000, 1280), False, False),
    ("MNIST APGD: forward", (1000, 784, 500), False, True),
    ("MNIST APGD: input gradient", (1000, 500, 784), False, False),
]


def alternating_best(ways: Mapping[str, Callable[[], object]], repeats: int, rounds: int) -> dict[str, float]:
    """Seconds of each of ``ways``: the best of ``repeats`` calls in each of ``rounds``
    rounds that alternate the ways (a drift of the machine's speed hits them alike)."""
    seconds = dict.fromkeys(ways, float("inf"))
    for _ in range(rounds):
        for way, call in ways.items():
            seconds[way] = min(seconds[way], best_seconds(call, repeats))
    return seconds
