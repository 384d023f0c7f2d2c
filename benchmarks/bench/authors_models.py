"""The authors' released MNIST models through the public one-call evaluation: each
``pReLU_{p}_pretrained.pt`` of github hanchmin/pReLU_ICML24 (``pReLU_pretrained_models/``;
not redistributed here) loaded with ``PReLUNet.from_authors_state_dict`` and evaluated
with ``attacks.evaluate`` on Table 1's norms and radii, beside the paper's Table 1 and
our own paper-profile models. Writes benchmarks/reports/RESULTS_AUTHORS_MODELS.md.

    python benchmarks/bench/authors_models.py DIR [POINTS]

DIR holds the four ``.pt`` files. POINTS (default 1000): Table 1's fixed random draw of
that many test images of the paper's split (``experiments.mnist.table1_points``), the
points our stored Table 1 uses; clean accuracy is on all 10,000.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from prelu_robust import paper, paths
from prelu_robust.attacks import evaluate
from prelu_robust.device import cpu_description
from prelu_robust.experiments import mnist
from prelu_robust.models import PReLUNet
from prelu_robust.store import committed_store, git_revision

POWERS = (1, 2, 3, 4)


def main(folder: Path, points: int = 1000) -> None:
    torch.set_num_threads(1)
    store = committed_store()
    config = mnist.resolve_profile("paper", store, n_class=paper.MNIST_CLASSES)[1]
    data = mnist.load_data(config)
    pick = mnist.table1_points(len(data.y_test), points)
    x, y = data.x_test[pick], data.y_test[pick]
    norms = list(dict.fromkeys(norm for norm, _ in paper.TABLE1))
    ours = {p: np.mean([store.load(mnist.KIND, mnist.MnistRun(config, float(p), r).settings())["table1"]
                        for r in range(config.repeats)], axis=0) for p in POWERS}
    header = ("| p | model | clean (10,000) | " + " | ".join(f"{n} {e:g}" for n, e in paper.TABLE1) + " | CPU-s |")
    rows = []
    for p in POWERS:
        state = torch.load(folder / f"pReLU_{p}_pretrained.pt", map_location="cpu", weights_only=True)
        net = PReLUNet.from_authors_state_dict(state, p).eval().requires_grad_(False)
        start = time.process_time()
        clean = evaluate(net, data.x_test, data.y_test, eps=0.0).clean
        table = np.zeros(len(paper.TABLE1))
        for k, norm in enumerate(norms):
            where = [i for i, (n, _) in enumerate(paper.TABLE1) if n == norm]
            table[where] = evaluate(net, x, y, norm, [paper.TABLE1[i][1] for i in where], seed=k).robust
        seconds = time.process_time() - start
        rows.append(f"| {p} | the authors' | {clean:.3f} | " + " | ".join(f"{v:.3f}" for v in table) + f" | {seconds:.0f} |")
        rows.append(f"| {p} | ours, mean of {config.repeats} | | " + " | ".join(f"{v:.3f}" for v in ours[p]) + " | |")
        if float(p) in paper.MNIST_TABLE1:
            rows.append(f"| {p} | paper, Table 1 | | " + " | ".join(f"{v:.3f}" for v in paper.MNIST_TABLE1[float(p)])
                        + " | |")
        print(*rows[-3:], sep="\n", flush=True)
    text = "\n".join([
        "# The authors' released MNIST models, evaluated with `attacks.evaluate`\n",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {cpu_description()}, one torch thread, git {git_revision()}. "
        f"`benchmarks/bench/authors_models.py` on the four `pReLU_{{p}}_pretrained.pt` of github "
        "hanchmin/pReLU_ICML24, loaded with `PReLUNet.from_authors_state_dict`: AutoAttack's APGD-CE "
        f"('standard'; 5 restarts for L1), products in float32, on Table 1's fixed draw of {points} test images "
        "of the paper's split (the points our stored Table 1 uses); clean accuracy on all 10,000. "
        "Our rows: the paper-profile store, mean over repeats.\n",
        header, "|" + "---|" * (header.count("|") - 1), *rows, ""])
    (paths.REPORTS / "RESULTS_AUTHORS_MODELS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
