"""Compute the attack variants of a synthetic figure's attacked models at the paper's
settings into the committed store (``results/paper/synthetic-variants``), one shard per
process: ``python scripts/paper_variants.py 0 2 & python scripts/paper_variants.py 1 2``."""

from __future__ import annotations

import argparse

import torch

from prelu_robust.experiments import synthetic
from prelu_robust.experiments.common import SweepCost, shard_of, sweep
from prelu_robust.store import committed_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=int, nargs="?", default=0, help="this process's shard")
    parser.add_argument("count", type=int, nargs="?", default=1, help="processes in all")
    parser.add_argument("--n-clusters", type=int, default=10)
    parser.add_argument("--n-positive", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = synthetic.make_config("paper", n_clusters=args.n_clusters, n_positive=args.n_positive)
    runs = shard_of(synthetic.variant_runs(config), (args.index, args.count))
    cost = SweepCost()
    for one, _ in sweep(committed_store(), synthetic.VARIANTS_KIND, runs,
                        lambda r: synthetic.compute_variants(r, torch.device("cpu"), show_progress=False), cost):
        print(f"p={one.run.p:g} repeat {one.run.repeat} done; {cost.cpu_s:.0f} CPU-s so far", flush=True)


if __name__ == "__main__":
    main()
