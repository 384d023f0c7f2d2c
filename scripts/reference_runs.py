"""Train the reference algorithm at paper size for one (p, alpha) and keep the
model and loss curve (local cache, not committed): the ground truth the fast
engine's outcomes are compared with. Slow: ~25 min per run on one core."""

from __future__ import annotations

import argparse
import json
import time

import torch
from prelu_robust import paths
from prelu_robust.reference import ReferenceNet, train_reference

from prelu_robust.data.gmm import sample_mixture
from prelu_robust.experiments import synthetic
from prelu_robust.experiments.common import derive_seed

CACHE = paths.BENCH_CACHE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--p", type=float, required=True)
    parser.add_argument("--alpha-index", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = synthetic.PROFILES["paper"]
    run = synthetic.SyntheticRun(cfg, args.p, args.alpha_index, args.repeat)
    s, spec, seed = run.settings(), cfg.mixture(run.alpha), run.data_seed
    train = sample_mixture(spec, s["n_train"], seed=derive_seed(seed, "train"))
    net = ReferenceNet(s["dim"], s["width"], s["p"], s["init_scale"], derive_seed(seed, "init"))
    CACHE.mkdir(exist_ok=True)
    name = f"ref_p{args.p:g}_a{args.alpha_index}_r{args.repeat}"
    start = time.perf_counter()

    def on_epoch(epoch, losses):
        if epoch % 10 == 0 or epoch == s["epochs"] - 1:
            print(f"{name} epoch {epoch} loss {losses[-1]:.4e} {time.perf_counter() - start:.0f}s", flush=True)
            (CACHE / f"{name}.json").write_text(json.dumps({"losses": losses, "seconds": time.perf_counter() - start,
                                                            "threads": args.threads}))

    train_reference(net, train.x, train.y, s["lr"], s["batch_size"], s["epochs"], derive_seed(seed, "order"), on_epoch)
    torch.save({"W": net.W.detach(), "v": net.v.detach(), "settings": s}, CACHE / f"{name}.pt")


if __name__ == "__main__":
    main()
