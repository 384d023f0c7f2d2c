import math

import numpy as np
import pytest
import torch

from prelu_robust.attacks import (
    L2Attack,
    ZeroStartRuns,
    random_in_ball,
    robust_accuracy_curve,
)
from prelu_robust.attacks import pgd
from prelu_robust.data.gmm import MixtureSpec, sample_mixture
from prelu_robust.models import class_average_classifier, subclass_classifier
from prelu_robust.spaces import NeuronSpan, SignExactSpan, neuron_basis, score_and_grad

EPS = [0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0]


def test_robust_accuracy_is_at_most_clean_and_non_increasing(trained_nets):
    nets, _, test = trained_nets
    x, y = test.x[:300], test.y[:300]
    for net in nets.values():
        clean = float((y * net(x) > 0).double().mean())
        for attack in (L2Attack(steps=100), L2Attack(steps=100, restarts=2, keep_best=True)):
            acc = robust_accuracy_curve(net, x, y, EPS, attack).numpy()
            assert acc[0] == pytest.approx(clean)
            assert (acc <= clean + 1e-12).all()
            assert (np.diff(acc) <= 1e-12).all(), acc


def test_strong_attack_is_at_least_as_strong_as_the_reference(trained_nets):
    nets, _, test = trained_nets
    x, y = test.x[:300], test.y[:300]
    ref = robust_accuracy_curve(nets[3.0], x, y, EPS, L2Attack(steps=100))
    strong = robust_accuracy_curve(nets[3.0], x, y, EPS, L2Attack(steps=100, restarts=2, keep_best=True))
    assert (strong <= ref + 1e-12).all()


def test_attack_breaks_the_ideal_F_near_one_over_sqrt_K():
    """|grad F| = |mu_+ - mu_-| = sqrt(K) where both units are active, and F = 1 at a centre:
    the l2 distance to the boundary is about 1/sqrt(K). From a start where <x, mu_-> < 0
    the relu has zero slope and PGD cannot raise it, so several random starts are needed."""
    spec = MixtureSpec(dim=100, n_clusters=10, n_positive=6, alpha=0.05)
    data = sample_mixture(spec, 300, seed=0)
    F = lambda x: class_average_classifier(x, spec)  # noqa: E731
    r = 1 / math.sqrt(spec.n_clusters)
    acc = robust_accuracy_curve(F, data.x, data.y, [0.85 * r, 1.15 * r], L2Attack(steps=200, restarts=8, keep_best=True))
    assert acc[0] == 1.0 and acc[1] < 0.02


def test_ideal_F3_holds_below_sqrt2_over_2():
    spec = MixtureSpec(dim=100, n_clusters=10, n_positive=6, alpha=0.05)
    data = sample_mixture(spec, 300, seed=0)
    F3 = lambda x: subclass_classifier(x, spec, 3)  # noqa: E731
    acc = robust_accuracy_curve(F3, data.x, data.y, [0.6, 1.0], L2Attack(steps=300, restarts=3, keep_best=True))
    assert acc[0] == 1.0 and acc[1] < 0.05


def test_closed_form_oracle_agrees_with_autograd(trained_nets):
    nets, _, test = trained_nets
    net = nets[3.0]
    fast = score_and_grad(net)
    slow = score_and_grad(lambda x: net(x))
    (f1, g1), (f2, g2) = fast(test.x[:50]), slow(test.x[:50])
    assert torch.allclose(f1, f2, rtol=1e-5, atol=1e-6) and torch.allclose(g1, g2, rtol=1e-4, atol=1e-5)


def test_random_points_lie_in_the_ball():
    pts = random_in_ball(1000, 50, 0.7, torch.Generator().manual_seed(0))
    norms = pts.norm(dim=1)
    assert norms.max() <= 0.7 + 1e-6 and norms.min() > 0.5  # mass concentrates at the surface in 50-d


def test_attack_is_deterministic(trained_nets):
    nets, _, test = trained_nets
    attack = L2Attack(steps=30, restarts=2, keep_best=True)
    a = robust_accuracy_curve(nets[1.0], test.x[:200], test.y[:200], [0.3], attack, seed=4)
    b = robust_accuracy_curve(nets[1.0], test.x[:200], test.y[:200], [0.3], attack, seed=4)
    assert torch.equal(a, b)


@pytest.mark.parametrize("strong_first", [False, True])
def test_shared_zero_start_runs_change_no_curve(trained_nets, monkeypatch, strong_first):
    """The reference attack and the strong attack's first restart are one PGD run from
    the clean point: shared, the curves stay as they were, and with the strong curve
    first each point's run at each radius is done once."""
    nets, _, test = trained_nets
    net = nets[3.0]
    x, y = test.x[:300], test.y[:300]
    basis = neuron_basis(net, rank_tol=1e-3).vectors
    space, exact = NeuronSpan(net, basis), SignExactSpan(net, basis, tol=1e-6)
    calls = {"reference": dict(attack=L2Attack(steps=60), seed=1),
             "strong": dict(attack=L2Attack(steps=60, restarts=2, keep_best=True), seed=2, carry_broken=True)}
    runs = []  # (radius, points) of every run from the clean point
    run = pgd._run_and_judge
    monkeypatch.setattr(pgd, "_run_and_judge", lambda *a: (a[6][2] is None and runs.append((a[4], len(a[3]))))
                        or run(*a))

    def curves(zero_start):
        runs.clear()
        order = ["strong", "reference"] if strong_first else ["reference", "strong"]
        return {name: robust_accuracy_curve(net, x, y, EPS, space=space, exact_space=exact, zero_start=zero_start,
                                            **calls[name]) for name in order}, list(runs)

    (alone, alone_runs), (shared, shared_runs) = curves(None), curves(ZeroStartRuns(len(y)))
    for name in calls:
        assert torch.equal(alone[name], shared[name])
    assert alone["strong"][-1] < alone["reference"][-1] < 1  # both attacks break points here
    radii = {eps for eps, _ in alone_runs}
    if strong_first:  # every point once per radius, where alone the strong attack ran its survivors again
        assert sum(n for _, n in shared_runs) == len(y) * len(radii) < sum(n for _, n in alone_runs)
    else:  # the reference ran without the best iterates, so the strong attack's survivors run again
        assert sum(n for _, n in shared_runs) == sum(n for _, n in alone_runs)


def _rowwise_model(net, x):
    """A bound model of the plain net ``net`` at x (n, D) computed row by row (products and
    sums along each row, no BLAS): a row's results do not depend on the others in the block."""
    W, v = net.W.detach(), net.v.detach()[0]

    def model(a, s):
        pre = ((x + a)[:, None, :] * W[None, :, :]).sum(-1)
        return (torch.relu(pre) * v).sum(-1), ((pre > 0) * v)[:, :, None].mul(W[None]).sum(1)

    return model


@pytest.mark.parametrize("eps", [0.1, 0.2, 0.45])
def test_pgd_reads_cycling_points_off_their_cycle(trained_nets, eps):
    """Points leave the loop once their iterates cycle; their last and best iterates are
    bitwise those of stepping all ``steps`` times (at 0.1 every point settles, at 0.2 and
    0.45 some cycle and others never do)."""
    nets, _, test = trained_nets
    net, x, y = nets[1.0], test.x[:200], test.y[:200]
    attack = L2Attack(steps=1001)
    stepped = []

    def bind(rows):
        model = _rowwise_model(net, x[rows])

        def counted(a, s):
            stepped.append(len(s))
            return model(a, s)

        return counted

    zero = torch.zeros_like(x), torch.zeros(len(y))
    a, s, best_a, best_s = pgd._pgd(bind, *zero, y, eps, attack, keep_best=True)
    assert sum(stepped) < attack.steps * len(y)
    model = _rowwise_model(net, x)
    full_a, full_s = zero
    best_margin, full_best_a = torch.full((len(y),), float("inf")), full_a.clone()
    for _ in range(attack.steps):
        f, grad = model(full_a, full_s)
        better = y * f < best_margin
        best_margin = torch.where(better, y * f, best_margin)
        full_best_a = torch.where(better[:, None], full_a, full_best_a)
        full_a, full_s = pgd._descend(full_a, full_s, f, grad, y, eps, attack)
    assert torch.equal(a, full_a) and torch.equal(s, full_s) and torch.equal(best_a, full_best_a)
