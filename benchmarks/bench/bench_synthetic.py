"""Benchmark: the reference algorithm of Section 5.1 against the engine, at paper size.

Times, in one process and back to back, per unit of work (one training epoch,
one PGD step on 20,000 points, one Algorithm-1 ascent step on 1,000 points)
and end to end for one attacked (p=3, alpha=0.01) run, then compares outcomes.
Writes benchmarks/reports/RESULTS.md. Not a test: run it with `make benchmark`.
"""

from __future__ import annotations

import json
import math
import os
import time

import torch

from prelu_robust import neurons, paths
from prelu_robust.attacks import L2Attack
from prelu_robust.data.gmm import sample_mixture
from prelu_robust.device import cpu_description, keep_freed_memory
from prelu_robust.engine import SpanEngine
from prelu_robust.experiments import synthetic
from prelu_robust.experiments.common import derive_seed
from prelu_robust.metrics import cosine_matrix, distance_to_ideal
from prelu_robust.models import PReLUNet, ideal_classifier, ideal_net
from prelu_robust.reference import ReferenceNet, algorithm1_reference, pgd_reference, train_reference
from prelu_robust.spaces import score_and_grad
from prelu_robust.store import committed_store
from prelu_robust.train import SGDConfig, train_sgd

THREADS = int(os.environ.get("BENCH_THREADS", "1"))


def timeit(fn, repeat: int) -> float:
    fn()  # warm-up
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def main() -> None:
    torch.set_num_threads(THREADS)
    keep_freed_memory()  # for the reference loop and the engine alike
    cfg = synthetic.PROFILES["paper"]
    run = synthetic.SyntheticRun(cfg, 3.0, 0, 0)
    s = run.settings()
    spec = cfg.mixture(run.alpha)
    seed = run.data_seed
    train = sample_mixture(spec, s["n_train"], seed=derive_seed(seed, "train"))
    test = sample_mixture(spec, s["n_test"], seed=derive_seed(seed, "test"))
    init_seed, order_seed = derive_seed(seed, "init"), derive_seed(seed, "order")
    rows, out = [], []

    # -- per unit: one epoch -------------------------------------------------------
    ref_net = ReferenceNet(s["dim"], s["width"], 3.0, s["init_scale"], init_seed)
    t_ref_epoch = timeit(lambda: train_reference(ref_net, train.x, train.y, 0.2, 100, 1, order_seed), 1)
    eng = PReLUNet(s["dim"], s["width"], 3.0).init_small(s["init_scale"], torch.Generator().manual_seed(init_seed))
    one_epoch = SGDConfig(lr=0.2, batch_size=100, epochs=1, product_dtype=s["product_dtype"], seed=order_seed)
    t_eng_epoch = timeit(lambda: train_sgd(eng, train.x, train.y, one_epoch, show_progress=False), 1)

    # the trained models: the engine's (loss-adaptive, pruned) and the reference's if cached
    t0 = time.process_time()
    engine_net = PReLUNet(s["dim"], s["width"], 3.0).init_small(s["init_scale"], torch.Generator().manual_seed(init_seed))
    log = train_sgd(engine_net, train.x, train.y, SGDConfig(lr=0.2, batch_size=100, epochs=401, seed=order_seed,
                    schedule=s["schedule"], prune_tol=s["prune_tol"], product_dtype=s["product_dtype"]),
                    show_progress=False)
    t_engine_train = time.process_time() - t0
    pruned = engine_net.subnet(neurons.dominant(neurons.contributions(engine_net.W.detach(), engine_net.v.detach()),
                                                s["prune_tol"]))
    t_pruned_epoch = timeit(lambda: train_sgd(pruned.subnet(torch.arange(pruned.width)), train.x, train.y, one_epoch,
                                              show_progress=False), 2)
    cached = paths.BENCH_CACHE / "ref_p3_a0_r0.pt"
    reference_net = None
    if cached.is_file():
        state = torch.load(cached)
        reference_net = PReLUNet(s["dim"], s["width"], 3.0)
        with torch.no_grad():
            reference_net.W.copy_(state["W"])
            reference_net.v.copy_(state["v"][None])
        ref_log = json.loads((paths.BENCH_CACHE / "ref_p3_a0_r0.json").read_text())

    # -- per unit: one PGD step on 20,000 points, one ascent step on 1,000 --------------
    model = engine_net
    ref_model = ReferenceNet(s["dim"], s["width"], 3.0, s["init_scale"], init_seed)
    with torch.no_grad():
        ref_model.W.copy_(model.W)
        ref_model.v.copy_(model.v[0])
    x, y = test.x, test.y
    t_ref_pgd = timeit(lambda: pgd_reference(ref_model, x, y, 0.9, 1, 0.1), 2)
    engine = SpanEngine.build(model, surrogate_tol=s["surrogate_tol"], prune_tol=s["prune_tol"], extra=spec.centers())
    t_eng_pgd = timeit(lambda: engine.robust_accuracy_curve(x, y, [0.9], L2Attack(steps=100), seed=0), 1) / 100

    def ideal(z):
        return ideal_classifier(z, spec, 3.0)

    small = train.x[:2000]
    t_ref_ascent = timeit(lambda: algorithm1_reference(ref_model, ideal, small, 1, 1000, 2, 0.01, 0), 1) / 2
    ideal_as_net = ideal_net(spec, 3.0)
    t_eng_ascent = timeit(lambda: engine.distance_to(ideal_as_net, small, n_batches=1, batch_size=1000, steps=200,
                                                     step_size=0.01, seed=0), 1) / 200

    rows += [["training epoch (20,000 points, batch 100)", t_ref_epoch, t_eng_epoch, t_ref_epoch / t_eng_epoch],
             [f"training epoch after pruning ({pruned.width} neurons)", t_ref_epoch, t_pruned_epoch,
              t_ref_epoch / t_pruned_epoch],
             ["PGD step, 20,000 points", t_ref_pgd, t_eng_pgd, t_ref_pgd / t_eng_pgd],
             ["Algorithm 1 ascent step, 1,000 points", t_ref_ascent, t_eng_ascent, t_ref_ascent / t_eng_ascent]]

    # -- end to end: one attacked (p=3, alpha=0.01) run ------------------------------------
    ref_train = ref_log["seconds"] if reference_net is not None else 401 * t_ref_epoch
    ref_total = ref_train + 15 * 2000 * t_ref_pgd + 10 * 2000 * t_ref_ascent
    store = committed_store()
    entry = store.path(synthetic.KIND, s)
    engine_run = json.loads((entry / "meta.json").read_text())["cpu_s"] if (entry / "meta.json").is_file() else None

    out.append("# Benchmark: reference algorithm versus engine (Section 5.1, paper size)\n")
    out.append(f"Machine: {cpu_description()}, torch {torch.__version__}, "
               f"{THREADS} torch thread(s); {time.strftime('%Y-%m-%d %H:%M %Z')}. CPU seconds (process time); "
               "glibc keeps freed memory (`device.keep_freed_memory`) for both sides. The engine's training "
               f"products run in {s['product_dtype'] or 'the data dtype'}.\n")
    out.append("## Per unit of work\n")
    out.append("| unit | reference (CPU-s) | engine (CPU-s) | speed-up |\n|---|---|---|---|")
    out += [f"| {r[0]} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.1f}x |" for r in rows]
    out.append("\n## End to end, one attacked run (p=3, alpha=0.01)\n")
    out.append(f"- reference: {ref_train:.0f} CPU-s training ("
               + ("measured, scripts/reference_runs.py" if reference_net is not None else "401 epochs x per-epoch")
               + f") + 2000 steps x 15 radii of PGD + 10 x 2000 ascent steps (per-unit x count) "
               f"= **{ref_total / 3600:.1f} CPU-h** (the strong attack not included)")
    out.append(f"- engine: training {t_engine_train:.0f} CPU-s measured here ({log.steps} SGD steps, the same "
               f"gradient-flow time {log.flow_time:.0f}, {log.active_neurons} neurons after pruning); whole run "
               + (f"with both attacks and the ideal's curve: **{engine_run:.0f} CPU-s** (store entry)" if engine_run
                  else "not in the store yet") + ".")
    if engine_run:
        out.append(f"- speed-up: **{ref_total / engine_run:.0f}x**")

    # -- outcomes --------------------------------------------------------------------------
    out.append("\n## Outcome: the engine's model against the reference's\n")
    if reference_net is not None:
        rows = []
        engine_name = f"engine (adaptive, pruned, {s['product_dtype']} products)"
        for name, net in (("reference (autograd SGD, 401 epochs)", reference_net), (engine_name, engine_net)):
            c = neurons.contributions(net.W.detach(), net.v.detach())
            top = neurons.largest(net.W.detach(), net.v.detach(), 20)
            cos = cosine_matrix(net.W.detach()[top], spec.centers()).max(dim=1).values
            with torch.no_grad():
                margin = test.y * net(test.x)
            rows.append([name, math.exp(float(torch.logsumexp(-train.y * net(train.x).detach(), 0)) - math.log(len(train.y))),
                         len(neurons.dominant(c, 1e-3)), float(cos[:10].min()), float(margin.min())])
        out.append("| model | final train loss | neurons >= 1e-3 of max | min cosine of top-10 neurons to a centre | min test margin |")
        out.append("|---|---|---|---|---|")
        out += [f"| {r[0]} | {r[1]:.3e} | {r[2]} | {r[3]:.4f} | {r[4]:.4f} |" for r in rows]
        eps = [0.75, 0.857, 0.964, 1.071]
        curves = {}
        for name, net in (("reference model", reference_net), ("engine model", engine_net)):
            curves[name] = SpanEngine.build(net, surrogate_tol=s["surrogate_tol"], prune_tol=s["prune_tol"],
                                            extra=spec.centers()).robust_accuracy_curve(x, y, eps, L2Attack(steps=2000),
                                                                                        seed=0)
        out.append("\nRobust accuracy, reference attack (2000 steps), all 20,000 test points:\n")
        out.append("| eps | " + " | ".join(f"{e:.3f}" for e in eps) + " |\n|---|" + "---|" * len(eps))
        out += [f"| {k} | " + " | ".join(f"{float(v):.4f}" for v in c) + " |" for k, c in curves.items()]
        diff = float((curves["reference model"] - curves["engine model"]).abs().max())
        out.append(f"\nLargest difference: {diff:.4f} (target: within 0.02).")
        # attack implementations on the same model: full-space autograd PGD versus the span engine
        sub_x, sub_y = x[:300], y[:300]
        ref_kept = pgd_reference(ref_model, sub_x, sub_y, 0.964, 2000, 0.1).double().mean()
        eng_kept = engine.robust_accuracy_curve(sub_x, sub_y, [0.964], L2Attack(steps=2000), seed=0)[0]
        out.append(f"\nSame model, same 300 points, eps=0.964, 2000 steps: reference full-space PGD "
                   f"{float(ref_kept):.4f}, engine {float(eng_kept):.4f}.")
        d_ref = algorithm1_reference(reference_net, ideal, small, 1, 200, 300, 0.01, 0)
        d_own = distance_to_ideal(score_and_grad(reference_net), score_and_grad(ideal), small, n_batches=1,
                                  batch_size=200, steps=300, seed=0).sup
        out.append(f"\nAlgorithm 1 on the reference model (200 points, 300 steps): as written (batch-mean "
                   f"gradient, +1e-7 guard) {d_ref:.2e}; each point ascending its own objective {d_own:.2e}.")
    else:
        out.append("No cached reference model (run scripts/reference_runs.py --p 3 first, ~25 CPU-min).")
    text = "\n".join(out) + "\n"
    (paths.REPORTS / "RESULTS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
