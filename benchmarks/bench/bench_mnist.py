"""Benchmark: the MNIST workload, reference-style loop against the library.

Times, in one process and back to back, in CPU seconds (1 thread):
  - one training epoch with its per-epoch statistics (train loss and accuracy,
    test accuracy, stable rank of the hidden features on the training set):
    reference style = DataLoader batches, pow-based features, statistics from
    separate DataLoader passes, stable rank from the singular values of H (n, 500);
    library = ``experiments.mnist.train_run``'s loop (indexing, one statistics pass
    that reuses the features, the 500 x 500 Gram matrix);
  - the Linf robust-accuracy curve (15 radii of linspace(0, 0.2, 15)) and Table 1
    with AutoAttack APGD-CE on one model: reference style = the reference's float32
    net, every radius on every point (radius 0 included); library = survivors only,
    radius 0 = clean, products in the profile's ``attack_product_dtype`` with float32
    verdicts;
and compares the outcomes. Writes benchmarks/reports/RESULTS_MNIST.md (`make benchmark`).
"""

from __future__ import annotations

import os
import time
import dataclasses

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from prelu_robust import paths
from prelu_robust.attacks import apgd_ce, apgd_curve
from prelu_robust.device import cpu_description
from prelu_robust.device import keep_freed_memory
from prelu_robust.experiments import mnist
from prelu_robust.metrics import stable_rank
from prelu_robust.precision import PRODUCT_DTYPES

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
ATTACK_POINTS = int(os.environ.get("BENCH_MNIST_POINTS", "1000"))
TABLE1_POINTS = int(os.environ.get("BENCH_MNIST_TABLE1_POINTS", "300"))
WARM_EPOCHS = 5  # the attacked model: p=3 after this many epochs (accuracy ~0.97)


class ReferenceMnistNet(nn.Module):
    """784-500-n_class pReLU net as the reference writes it: W stored (784, 500)."""

    def __init__(self, center: torch.Tensor, p: float, n_class: int, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.p, self.center = p, center
        self.W = nn.Parameter(torch.empty(784, 500))
        nn.init.kaiming_uniform_(self.W)
        self.out = nn.Linear(500, n_class)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = x - self.center
        h = torch.relu(x @ self.W) ** self.p / torch.linalg.norm(self.W, dim=0) ** (self.p - 1)
        return h / torch.linalg.norm(x, dim=1, keepdim=True) ** (self.p - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))

    @classmethod
    def holding(cls, net) -> "ReferenceMnistNet":
        """The reference's net with the weights of a library net."""
        ref = cls(net.center, net.p, net.out_dim, seed=0)
        with torch.no_grad():
            ref.W.copy_(net.W.T)
            ref.out.weight.copy_(net.v)
            ref.out.bias.copy_(net.b)
        return ref.requires_grad_(False)


def reference_epoch(net, optimizer, train: TensorDataset, test: TensorDataset, generator) -> dict[str, float]:
    for xb, yb in DataLoader(train, batch_size=1000, shuffle=True, generator=generator):
        loss = nn.functional.cross_entropy(net(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    stats, feats = {}, []
    with torch.no_grad():
        for name, data in (("train", train), ("test", test)):
            loss, correct = 0.0, 0
            for xb, yb in DataLoader(data, batch_size=1000):
                logits = net(xb)
                loss += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
                correct += int((logits.argmax(1) == yb).sum())
            stats[f"{name}_loss"], stats[f"{name}_accuracy"] = loss / len(data), correct / len(data)
        for xb, _ in DataLoader(train, batch_size=1000):
            feats.append(net.features(xb))
        s = torch.linalg.svdvals(torch.cat(feats))
        stats["stable_rank"] = float((s**2).sum() / s[0] ** 2)
    return stats


def cpu_seconds(fn):
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def main() -> None:
    torch.set_num_threads(THREADS)
    keep_freed_memory()  # for the reference-style loop and the library alike
    config = mnist.make_config("paper", n_class=10)
    data = mnist.load_data(config)
    out = [f"# MNIST benchmark\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu_description()}, "
           f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the start), torch {torch.__version__}, "
           f"{THREADS} thread(s); CPU seconds; glibc keeps freed memory for both sides. "
           "Written by `benchmarks/bench/bench_mnist.py`.\n"]

    # -- one epoch with its statistics, paper size (50,000 / 10,000) --
    ref_net = ReferenceMnistNet(data.x_train.mean(0), 3.0, 10, seed=0)
    ref_opt = torch.optim.Adam(ref_net.parameters(), lr=1e-3)
    train, test = TensorDataset(data.x_train, data.y_train), TensorDataset(data.x_test, data.y_test)
    ref_stats, ref_epoch = cpu_seconds(lambda: reference_epoch(ref_net, ref_opt, train, test,
                                                               torch.Generator().manual_seed(0)))
    one_epoch = mnist.MnistRun(dataclasses.replace(config, epochs=1), 3.0, 0)
    (_, history), own_epoch = cpu_seconds(lambda: mnist.train_run(one_epoch, data, torch.device("cpu"), False))
    out.append("## One epoch with its statistics (p=3, 50,000 training and 10,000 test images)\n")
    out.append("| | reference style | library | ratio |\n|---|---|---|---|")
    out.append(f"| CPU s | {ref_epoch:.2f} | {own_epoch:.2f} | {ref_epoch / own_epoch:.2f}x |")
    out.append(f"| test accuracy after it | {ref_stats['test_accuracy']:.4f} | {history['test_accuracy'][0]:.4f} | |")
    out.append(f"| stable rank | {ref_stats['stable_rank']:.3f} | {history['stable_rank'][0]:.3f} | |")
    with torch.no_grad():
        h = ref_net.features(data.x_train)
    s = torch.linalg.svdvals(h)
    out.append(f"\nStable rank of the same features, SVD vs the Gram matrix: {float((s**2).sum() / s[0]**2):.6f} vs "
               f"{stable_rank(h):.6f}.\n")

    # -- attacks on one model --
    warm = mnist.MnistRun(dataclasses.replace(config, epochs=WARM_EPOCHS), 3.0, 0)
    net, history = mnist.train_run(warm, data, torch.device("cpu"), False)
    for param in net.parameters():
        param.requires_grad_(False)
    ref_net = ReferenceMnistNet.holding(net)
    dtype = PRODUCT_DTYPES.get(config.attack_product_dtype)
    x, y = data.x_test[:ATTACK_POINTS], data.y_test[:ATTACK_POINTS]
    eps, seed, dev = np.asarray(config.eps_grid), 1234, torch.device("cpu")
    ref_curve, ref_s = cpu_seconds(lambda: np.array(
        [float(apgd_ce(ref_net, x, y, "Linf", float(e), seed + i, 1000, dev).double().mean()) if e > 0 else
         float(_attack_all(ref_net, x, y, seed)) for i, e in enumerate(eps)]))
    own_curve, own_s = cpu_seconds(lambda: apgd_curve(net, x, y, eps, seed, 1000, dev, product_dtype=dtype))
    out.append(f"## Linf curve, 15 radii, {ATTACK_POINTS} test points, p=3 after {WARM_EPOCHS} epochs "
               f"(clean {history['test_accuracy'][-1]:.3f})\n")
    out.append("| | reference style (every radius, every point) | library (survivors) | ratio |\n|---|---|---|---|")
    out.append(f"| CPU s | {ref_s:.1f} | {own_s:.1f} | {ref_s / own_s:.2f}x |")
    out.append("\n| eps | " + " | ".join(f"{e:.3f}" for e in eps) + " |\n|---|" + "---|" * len(eps))
    out.append("| reference style | " + " | ".join(f"{a:.3f}" for a in ref_curve) + " |")
    out.append("| library | " + " | ".join(f"{a:.3f}" for a in own_curve) + " |")
    out.append(f"\nLargest difference {np.abs(ref_curve - own_curve).max():.3f} (survivors-only is the same "
               "attack or stronger: a point broken at a smaller radius stays broken; the library attacks with "
               f"products in {config.attack_product_dtype or 'float32'}, verdicts in float32).\n")

    xt, yt = x[:TABLE1_POINTS], y[:TABLE1_POINTS]
    ref_t1, ref_t1_s = cpu_seconds(lambda: np.array(
        [float(apgd_ce(ref_net, xt, yt, norm, e, seed + 100 + i, 1000, dev).double().mean())
         for i, (norm, e) in enumerate(mnist.TABLE1)]))
    own_t1, own_t1_s = cpu_seconds(lambda: mnist.table1_accuracy(net, xt, yt, seed, 1000, product_dtype=config.attack_product_dtype))
    out.append(f"## Table 1, {TABLE1_POINTS} test points, same model\n")
    out.append("| | CPU s | " + " | ".join(f"{n} {e:g}" for n, e in mnist.TABLE1) + " |\n|---|---|" + "---|" * 6)
    out.append(f"| reference style (each attack on every point) | {ref_t1_s:.1f} | " + " | ".join(f"{a:.3f}" for a in ref_t1) + " |")
    out.append(f"| library (survivors within a norm) | {own_t1_s:.1f} | " + " | ".join(f"{a:.3f}" for a in own_t1) + " |")
    out.append(f"\nRatio {ref_t1_s / own_t1_s:.2f}x.\n")
    text = "\n".join(out) + "\n"
    (paths.REPORTS / "RESULTS_MNIST.md").write_text(text)
    print(text)


def _attack_all(net, x, y, seed) -> float:
    """Radius 0 as a reference loop runs it: an APGD-CE attack of radius 0 is clean accuracy."""
    from pyautoattack import AutoAttack

    attack = AutoAttack(net, norm="Linf", eps=0.0, version="standard", device="cpu", seed=seed)
    attack.attacks_to_run, attack.verbose = ["apgd-ce"], False
    x_adv, _ = attack.run_standard_evaluation(x, y, batch_size=1000)
    with torch.no_grad():
        return float((net(x_adv).argmax(1) == y).double().mean())


if __name__ == "__main__":
    main()
