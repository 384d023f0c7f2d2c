"""Compute paper-profile synthetic runs in the background, most useful first:
the attacked models (alpha = 0.01) for K=10, then K=20, one repeat, then more.
Every run is its own store entry, so this can be stopped and resumed."""

import sys

import torch

from prelu_robust.experiments import synthetic

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
for repeats in (1, 2, 3, 5):
    for clusters in ({}, {"n_clusters": 20, "n_positive": 8}):
        config = synthetic.make_config("paper", alphas=[0.01], repeats=repeats, **clusters)
        print("config", clusters, "repeats", repeats, flush=True)
        synthetic.run(config, "paper", device="cpu", show_progress=False)
        print("done", clusters, repeats, flush=True)
