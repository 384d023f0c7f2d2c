"""Does running APGD-CE on a bf16-product net weaken it? On the *same* float32-trained
models (the float32 store's, repeat 0 of each p), the attacks are rerun with the
first-layer product in bfloat16 and compared with the stored float32 attacks, which
used the same seeds: so every difference is due to the precision alone. Also
reported: how many points the float32 recheck re-attacked (a bf16 success float32
refuted), and the attacks' CPU time. Writes benchmarks/reports/RESULTS_ATTACK_PRECISION_MNIST<N>.md.

    python benchmarks/bench/attack_precision.py OLD_STORE [N]   # N = 10 (default, with Table 1) or 2

OLD_STORE is a paper store of the float32 engine (its ``mnist-run`` entries, from git
history before commit 6d0f15a, and the ``mnist-model`` weights they were attacked on,
a local cache), whose keys lack the settings that engine did not have
(``product_dtype``, ``attack_product_dtype``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from prelu_robust import paths
from prelu_robust.attacks import apgd
from prelu_robust.device import keep_freed_memory
from prelu_robust.experiments import mnist
from prelu_robust.store import ResultsStore

NEW_SETTINGS = ("product_dtype", "attack_product_dtype")  # which the float32 engine lacked
OLD_ATTACK_BATCH = 1000  # and its attack batch, kept here so that only the precision differs


class OldRun(mnist.MnistRun):
    """A run as the float32 store keyed it: before the product-dtype settings existed,
    with its attack batch."""

    def settings(self) -> dict:
        current = super().settings()
        return {k: v for k, v in current.items() if k not in NEW_SETTINGS} | {"attack_batch": OLD_ATTACK_BATCH}

    def model_settings(self) -> dict:
        return {k: v for k, v in self.settings().items() if k not in mnist.ATTACK_SETTINGS}


def main(old_root: str, n_class: int = 10) -> None:
    torch.set_num_threads(1)
    keep_freed_memory()
    config = mnist.make_config("paper", n_class=n_class, **({} if n_class == 10 else {"table1": False}))
    data = mnist.load_data(config)
    store, device = ResultsStore(Path(old_root)), torch.device("cpu")
    x, y = data.x_test.to(device), data.y_test.to(device)

    rechecked = []  # the float32 re-attacks: apgd_ce calling itself without a product dtype
    bf16_attack = apgd.apgd_ce

    def counting_apgd_ce(net, x, y, norm, eps, seed, batch_size, device, product_dtype=None):
        if product_dtype is None and eps > 0:
            rechecked.append(len(y))
        return bf16_attack(net, x, y, norm, eps, seed, batch_size, device, product_dtype)

    apgd.apgd_ce = counting_apgd_ce
    rows = []
    for p in config.powers:
        settings = mnist.MnistRun(config, float(p), 0).settings()
        old = OldRun(config, float(p), 0)
        stored = store.load(mnist.KIND, old.settings())
        if stored is None:
            sys.exit(f"no float32 entry for p={p:g} in {old_root}: see this script's docstring")
        net, _ = mnist.trained_model(old, data, device, store, show_progress=False)
        seed = mnist.derive_seed(settings["run_seed"], "attack") % (2**31)
        rechecked.clear()
        start = time.process_time()
        curve = apgd.apgd_curve(net, x, y, settings["eps_grid"], seed, OLD_ATTACK_BATCH, device,
                                   product_dtype=torch.bfloat16)
        table = None
        if settings["table1"]:
            pick = mnist.table1_points(len(y), settings["table1_points"])
            table = mnist.table1_accuracy(net, x[pick], y[pick], seed, OLD_ATTACK_BATCH, product_dtype="bfloat16")
        seconds = time.process_time() - start
        repeats = [store.load(mnist.KIND, OldRun(config, float(p), r).settings())
                   for r in range(config.repeats)]
        spread = np.ptp([run["robust_accuracy"] for run in repeats], axis=0)
        gap = curve - stored["robust_accuracy"]
        cells = [f"{p:g}", f"{np.abs(gap).max():.4f} (at eps {settings['eps_grid'][int(np.abs(gap).argmax())]:.3f})",
                 f"{gap.mean():+.4f}", f"{spread[1:].min():.3f}-{spread.max():.3f}"]
        if table is not None:
            tgap = table - stored["table1"]
            table_spread = np.ptp([run["table1"] for run in repeats], axis=0)
            worst = int(np.abs(tgap).argmax())
            norm, eps = mnist.TABLE1[worst]
            cells.append(f"{np.abs(tgap).max():.4f} ({norm} {eps:g}; spread there {table_spread[worst]:.3f})")
        cells += [f"{sum(rechecked)} in {len(rechecked)} calls", f"{seconds:.0f} / {float(stored['attack_seconds']):.0f}"]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    header = ["p", "Linf curve: largest change", "mean change", "spread over repeats (float32)"]
    header += ["Table 1: largest change"] if config.table1 else []
    header += ["re-attacked in float32", "attack seconds: bf16 (CPU) / float32 (wall, recorded)"]
    text = "\n".join([
        f"# APGD-CE with bf16 products against float32, {'ten classes' if n_class == 10 else 'parity'}\n",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; x86_64, one torch thread (`benchmarks/bench/attack_precision.py`). The "
        "float32 engine's models (repeat 0 of each p), attacked again with the first-layer product in bfloat16 "
        "(same seeds, same iterations and restarts, the same batches of 1,000; every verdict in float32) and compared with their stored "
        "float32 attacks. Changes are bf16 minus float32 robust accuracy on the "
        f"{len(y):,} test points (Table 1: its {config.table1_points or len(y):,}); the spread is the range over "
        "the five repeats' float32 curves at each radius > 0 (min-max over radii). Re-attacked: points the bf16 "
        "attack broke but float32 did not, attacked again in float32. The float32 time is the wall time recorded in "
        "the store (one thread; the machine was shared at times).\n",
        "| " + " | ".join(header) + " |", "|" + "---|" * len(header), *rows, ""])
    (paths.REPORTS / f"RESULTS_ATTACK_PRECISION_MNIST{n_class}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10)
