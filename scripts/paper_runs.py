"""Fill the committed paper-profile synthetic store: the whole K=10 figure (2 p x 15 alphas x
5 repeats), then the K=20 one.

    python scripts/paper_runs.py INDEX COUNT

runs share INDEX of COUNT (start COUNT processes, one per core, with INDEX 0..COUNT-1).
Every run is its own store entry, so a stopped job resumes where it was."""

import sys

import torch

from prelu_robust.experiments import synthetic
from prelu_robust.store import committed_store

index, count = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (0, 1)
torch.set_num_threads(1)
for clusters in ({}, {"n_clusters": 20, "n_positive": 8}):
    config = synthetic.make_config("paper", **clusters)
    cost = synthetic.compute_share(config, "paper", shard=(index, count), store=committed_store(), device="cpu", show_progress=False)
    print(clusters, f"{cost.computed}/{cost.total} computed, {cost.cpu_s:.0f} CPU-s", flush=True)
