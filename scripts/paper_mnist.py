"""Fill the committed paper-profile MNIST store: ten classes with Table 1, then parity.

    python scripts/paper_mnist.py INDEX COUNT

runs share INDEX of COUNT (start COUNT processes, one per core, with INDEX 0..COUNT-1).
Every run is its own store entry, so a stopped job resumes where it was."""

import sys

import torch

from prelu_robust.experiments import mnist
from prelu_robust.store import committed_store

index, count = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (0, 1)
torch.set_num_threads(1)
for overrides in ({"n_class": 10}, {"n_class": 2, "table1": False}):
    config = mnist.make_config("paper", **overrides)
    cost = mnist.compute_share(config, "paper", shard=(index, count), store=committed_store(), device="cpu", show_progress=False)
    print(overrides, f"{cost.computed}/{cost.total} computed, {cost.cpu_s:.0f} CPU-s", flush=True)
