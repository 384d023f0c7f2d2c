"""Fidelity of the span engine's attacks on paper-scale synthetic models.

For a K = 10, alpha = 0.01 model (retrained with the library from the run's seeds, or
the reference algorithm's 80,200-step model from ``scripts/reference_runs.py`` when
cached), each attack variant (as written, exact, strong) is run at every radius on the
first ``--points`` test points, steered three ways and always judged by the full net's
exact signs:

- ``engine``: the stored engine's surrogate (dominant neurons at 1e-3, merged by direction);
- ``exact``: the library's exact steering (``SpanEngine.build(..., steering="exact")``), built
  by the library itself: the same neurons and span as ``full``, which this script builds on
  its own, so that the two agree up to rounding if the library is right;
- ``D:M``: the neurons at >= D of the largest contribution, merged by direction when their
  cosine exceeds 1 - M (``M = 0``: not merged), in the exact span of those neurons
  (singular directions down to 1e-6 of the largest) plus the centres;
- ``unmerged``: ``1e-3:0``, every dominant neuron of the engine on its own;
- ``full``: ``1e-6:0``, every neuron at the verdicts' threshold: the full computation the
  others are validated against (the neurons left out carry at most ~1e-6 of the net's
  contributions, see ``distance_rest_bound``).

The model is trained with ``--product-dtype`` products (default bfloat16: the stored paper
entries' precision, so that the net is the stored one; its training log matches the store).

One row per model x radius x variant, with |engine - full| and |unmerged - full|, and
Algorithm 1 both as written and per point. Writes a report (``--report``).

    python benchmarks/bench/attack_fidelity.py --p 1 --points 2000 --ways engine,1e-3:1e-6,1e-1:0,1e-2:0,unmerged,full \
        --report benchmarks/reports/RESULTS_ATTACK_FIDELITY_P1.md
    python benchmarks/bench/attack_fidelity.py --p 1 --repeat 1 --points 2000 \
        --report benchmarks/reports/RESULTS_ATTACK_FIDELITY_P1_REPEAT1.md
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from prelu_robust import neurons, paths
from prelu_robust.attacks import VARIANTS, Centres, robust_accuracy_curve
from prelu_robust.device import cpu_description
from prelu_robust.engine import SpanEngine
from prelu_robust.experiments import synthetic
from prelu_robust.models import PReLUNet, ideal_net
from prelu_robust.reporting import markdown_table
from prelu_robust.spaces import NeuronSpan, SignExactSpan
from prelu_robust.store import committed_store

TOLERANCE = 0.005


def span_of(net: PReLUNet, tol: float, centres: torch.Tensor) -> torch.Tensor:
    """Orthonormal basis (D, r) of the neurons at >= tol of the largest contribution (singular
    directions of the contribution-weighted directions down to 1e-6 of the largest) and the centres."""
    contribution = neurons.contributions(net.W.detach(), net.v.detach()[0])
    sub = net.subnet(neurons.dominant(contribution, tol))
    W = sub.W.detach().double()
    weighted = W / W.norm(dim=1, keepdim=True) * neurons.contributions(sub.W.detach(), sub.v.detach()[0]).double()[:, None]
    _, sing, vh = torch.linalg.svd(weighted, full_matrices=False)
    q, r = torch.linalg.qr(torch.cat([vh[sing > 1e-6 * sing[0]], centres.double()]).T)
    return q[:, r.diagonal().abs() > 1e-10].to(net.W.dtype)


#: Named steerings, as ``D:M`` (see the module docstring).
NAMED_WAYS = {"unmerged": "1e-3:0", "full": "1e-6:0"}


def steering(net: PReLUNet, way: str, centres: torch.Tensor) -> tuple[NeuronSpan, SignExactSpan, int]:
    """The steps and verdicts of the steering ``way`` (``D:M`` or a name of :data:`NAMED_WAYS`)
    and how many units steer."""
    tol, merge = (float(part) for part in NAMED_WAYS.get(way, way).split(":"))
    contribution = neurons.contributions(net.W.detach(), net.v.detach()[0])
    sub = net.subnet(neurons.dominant(contribution, tol))
    if merge > 0:
        sub = neurons.merge_by_direction(sub, cos_tol=merge)
    basis = span_of(net, tol, centres)
    return NeuronSpan(sub, basis), SignExactSpan(net, basis, tol=1e-6), sub.width


def load_reference(p: float) -> PReLUNet | None:
    file = paths.BENCH_CACHE / f"ref_p{p:g}_a0_r0.pt"
    if not file.is_file():
        return None
    saved = torch.load(file)
    net = PReLUNet(saved["W"].shape[1], saved["W"].shape[0], p=p)
    with torch.no_grad():
        net.W.copy_(saved["W"])
        net.v.copy_(saved["v"].reshape(1, -1))
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p", type=float, required=True)
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--model", choices=("engine", "reference"), default="engine")
    parser.add_argument("--ways", default="engine,unmerged,full", help="engine, exact, unmerged, full or D:M, comma-separated")
    parser.add_argument("--repeat", type=int, default=0)
    parser.add_argument("--product-dtype", default="bfloat16", help="training products (the stored entries': bfloat16)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = dataclasses.replace(synthetic.PROFILES["paper"], product_dtype=args.product_dtype)
    run = synthetic.SyntheticRun(config, args.p, 0, args.repeat)
    start = time.process_time()
    if args.model == "engine":
        trained = synthetic.train_run(run, torch.device("cpu"), show_progress=False)
        net, spec, x, y = trained.net, trained.spec, trained.x_test, trained.y_test
        x_train, y_train = trained.x_train, trained.y_train
    else:
        net = load_reference(args.p)
        if net is None:
            raise SystemExit(f"no reference model: run scripts/reference_runs.py --p {args.p:g} first")
        spec, train, test = synthetic.run_data(run)
        x, y, x_train, y_train = test.x, test.y, train.x, train.y
    with torch.no_grad():  # computed alike for both models: comparisons at matched loss
        final_loss = float(torch.exp(-y_train * net(x_train)).mean())
    train_cpu = time.process_time() - start
    # the stored run of these training settings, whichever steering the store holds (training is the same)
    stored_config = synthetic.resolve_profile("paper", committed_store("paper"), product_dtype=args.product_dtype)[1]
    stored_run = synthetic.SyntheticRun(stored_config, args.p, 0, args.repeat)
    stored = committed_store("paper").load(synthetic.KIND, stored_run.settings()) if args.model == "engine" else None
    same_net = "no stored entry for this run" if stored is None else (
        "its training log equals the stored entry's" if np.array_equal(stored["log_loss"], np.asarray(trained.log.log_loss))
        else "its training log differs from the stored entry's: another net than the stored one")
    print(same_net, flush=True)
    x, y = x[: args.points], y[: args.points]
    centres_matrix = spec.centers()
    centres = Centres(centres_matrix, torch.tensor([1.0] * spec.n_positive + [-1.0] * (spec.n_clusters - spec.n_positive)))
    engine = SpanEngine.build(net, surrogate_tol=config.surrogate_tol, prune_tol=config.prune_tol, extra=centres_matrix)
    ways = {}
    for way in args.ways.split(","):
        if way == "engine":
            ways[way] = (engine.steps, engine.verdicts, engine.surrogate.width)
        elif way == "exact":
            exact_engine = SpanEngine.build(net, surrogate_tol=config.surrogate_tol, prune_tol=config.prune_tol,
                                            extra=centres_matrix, steering="exact")
            ways[way] = (exact_engine.steps, exact_engine.verdicts, exact_engine.surrogate.width)
        else:
            ways[way] = steering(net, way, centres_matrix)
    attacks = {"as_written": VARIANTS["as_written"](config.attack_steps, config.attack_step_size, loss_batch=config.n_test),
               "exact": VARIANTS["exact"](config.attack_steps, config.attack_step_size),
               "strong": VARIANTS["strong"](config.attack_steps, config.attack_step_size)}
    curves, seconds = {}, {}
    for way, (space, verdicts, width) in ways.items():
        for name, attack in attacks.items():
            t = time.process_time()
            curves[way, name] = robust_accuracy_curve(
                net, x, y, config.eps_grid, attack, seed=0, space=space, exact_space=verdicts, chunk_size=len(y),
                carry_broken=attack.keep_best, centres=centres).numpy()
            seconds[way, name] = time.process_time() - t
            print(f"{way} ({width} neurons, rank {space.dim}) {name}: {np.round(curves[way, name], 4).tolist()} "
                  f"{seconds[way, name]:.0f} CPU-s", flush=True)
    ideal = ideal_net(spec, args.p)
    distances = {}
    for written in (True, False):
        estimate = engine.distance_to(ideal, x_train, n_batches=config.dist_batches, batch_size=config.dist_batch_size,
                                      steps=config.dist_steps, step_size=config.dist_step_size, seed=0, written=written)
        distances["as written" if written else "per point"] = estimate.sup
    print(distances, flush=True)
    reference_way = "full" if "full" in ways else list(ways)[-1]
    rows = []
    worst = {way: 0.0 for way in ways if way != reference_way}
    for name in attacks:
        for i, eps in enumerate(config.eps_grid):
            cells = [name, f"{eps:.3f}"] + [f"{curves[way, name][i]:.4f}" for way in ways]
            for way in worst:
                gap = abs(curves[way, name][i] - curves[reference_way, name][i])
                worst[way] = max(worst[way], gap)
                cells.append(f"{gap:.4f}" + ("" if gap <= TOLERANCE else " **over**"))
            rows.append(cells)
    contribution = neurons.contributions(net.W.detach(), net.v.detach()[0])
    order = torch.argsort(contribution, descending=True)[:config.top_neurons]
    cos = (net.W.detach()[order] / net.W.detach()[order].norm(dim=1, keepdim=True)) @ \
        (spec.reference_directions() / spec.reference_directions().norm(dim=1, keepdim=True)).T
    header = ["variant", "eps"] + list(ways) + [f"abs({way} - {reference_way})" for way in worst]
    text = "\n".join([
        f"# Attack fidelity: p = {args.p:g}, K = 10, alpha = 0.01, repeat {args.repeat}, {args.model}-trained model "
        + (f"({args.product_dtype} training products)" if args.model == "engine" else "(plain float32 SGD, 80,200 steps)"),
        "",
        f"CPU: {cpu_description()}; {args.threads} thread(s). Points: the first {len(y)} of the run's 20,000 test points. "
        f"Model: {same_net}.",
        "Written by `benchmarks/bench/attack_fidelity.py` (its docstring defines the three steerings).", "",
        "Steering: " + "; ".join(f"{way}: {width} neurons in a span of rank {space.dim}"
                                 for way, (space, _, width) in ways.items()) + ".", "",
        f"Largest |difference| to `{reference_way}` over radii and variants: "
        + ", ".join(f"{way} {gap:.4f}" for way, gap in worst.items()) + f" (tolerance {TOLERANCE}).", "",
        f"Final training loss (mean exp(-y f) over the 20,000 training points): {final_loss:.3e}.",
        f"Algorithm 1 on this model: as written {distances['as written']:.3e}, per point {distances['per point']:.3e}.",
        f"Top-{config.top_neurons} neurons: median of max cosine with (mu_+, mu_-) "
        f"{float(cos[:, :2].max(1).values.median()):.4f}; centres covered at cosine > 0.99: "
        f"{int((cos[:, 2:].max(0).values > 0.99).sum())} of {spec.n_clusters}.",
        f"CPU seconds: training or loading {train_cpu:.0f}; attacks " + ", ".join(
            f"{way}/{name} {sec:.0f}" for (way, name), sec in seconds.items()) + ".", "",
        markdown_table(header, rows), ""])
    with open(args.report, "w") as out:
        out.write(text)
    print(text)


if __name__ == "__main__":
    main()
