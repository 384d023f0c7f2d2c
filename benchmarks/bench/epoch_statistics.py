"""What the per-epoch statistics of the Section 5.2 nets cost (loss and accuracy on the
training set and the stable rank of its hidden features, before every epoch): the former
computation (the width x width Gram matrix of the features, then all its eigenvalues in
float64) against the current one (Lanczos on the features, ``metrics.stable_rank``), with
the relative difference of the two stable ranks. Writes
benchmarks/reports/RESULTS_EPOCH_STATISTICS.md.

    python benchmarks/bench/epoch_statistics.py

Shapes: MNIST's 60,000 real training images (784 -> 500) and the Caltech-256 stand-in's
4,800 training features (1280 -> 2000; Gaussian inputs of that shape, the cost does not
depend on them), each net at the reference initialisation with p = 1 and p = 3. One torch
thread; each timing the best of five. MNIST's width (500) keeps the Gram matrix
(metrics.GRAM_WIDTH): there both columns time the same computation.
"""

from __future__ import annotations

import time

import torch

from prelu_robust.data.mnist import load_mnist
from prelu_robust.metrics import classifier_statistics
from prelu_robust.models import PReLUNet
from prelu_robust.reporting import write_report

CLASSES, REPEATS = 10, 5


def former(net: PReLUNet, x: torch.Tensor, y: torch.Tensor, chunk: int = 10000) -> float:
    """The former statistics: loss, accuracy and the Gram matrix in one pass, then eigvalsh."""
    gram = torch.zeros(net.width, net.width)
    with torch.no_grad():
        for s in range(0, len(y), chunk):
            h = net.features(x[s:s + chunk])
            logits = h @ net.v.T + net.b
            float(torch.nn.functional.cross_entropy(logits, y[s:s + chunk], reduction="sum"))
            int((logits.argmax(1) == y[s:s + chunk]).sum())
            gram += h.T @ h
    eigenvalues = torch.linalg.eigvalsh(gram.double())
    return float(eigenvalues.sum() / eigenvalues[-1])


def best_time(compute) -> tuple[float, float]:
    """The best wall time of REPEATS calls, and the value computed."""
    best, value = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        value = compute()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    torch.set_num_threads(1)
    mnist = load_mnist("paper", 10)
    shapes = {"MNIST, 60,000 x 784, width 500": (mnist.x_train, mnist.y_train, 500),
              "Caltech-256 stand-in, 4,800 x 1280, width 2000": (
                  torch.randn(4800, 1280, generator=torch.Generator().manual_seed(0)), torch.arange(4800) % CLASSES, 2000)}
    rows = []
    for name, (x, y, width) in shapes.items():
        for p in (1.0, 3.0):
            net = PReLUNet(x.shape[1], width, p=p, out_dim=CLASSES, normalize_input=True, center=x.mean(0),
                           bias=True).init_reference_mnist(torch.Generator().manual_seed(0))
            old_s, old = best_time(lambda: former(net, x, y))
            new_s, new = best_time(lambda: classifier_statistics(net, x, y, with_stable_rank=True).stable_rank)
            rows.append(f"| {name} | {p:g} | {old_s:.2f} | {new_s:.2f} | {old_s / new_s:.1f}x | {abs(new - old) / old:.1e} |")
            print(rows[-1], flush=True)
    header = "| training set | p | former, s an epoch | now, s an epoch | speed-up | stable rank, relative difference |"
    print(write_report(
        "RESULTS_EPOCH_STATISTICS.md", "The per-epoch statistics of the Section 5.2 nets",
        "`benchmarks/bench/epoch_statistics.py`: training loss, accuracy and the features' stable rank of a "
        "net at the reference initialisation, as computed before every epoch; former: the Gram matrix "
        "(float32) and all its eigenvalues (float64); now: Lanczos on the features (`metrics.stable_rank`). "
        "Best of five.", header, rows))

if __name__ == "__main__":
    main()
