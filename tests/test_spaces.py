"""The span engine against the full space: exact where it claims to be."""

import pytest
import torch
from rounding import assert_within, score_bound

from prelu_robust.attacks import L2Attack, robust_accuracy_curve
from prelu_robust.data.gmm import MixtureSpec, sample_mixture
from prelu_robust.engine import SpanEngine
from prelu_robust.metrics import distance_to_ideal
from prelu_robust.models import PReLUNet, ideal_classifier, ideal_net
from prelu_robust.neurons import merge_by_direction
from prelu_robust import spaces
from prelu_robust.attacks import pgd
from prelu_robust.spaces import FullSpace, NeuronSpan, SignExactSpan, neuron_basis, scaled_difference, score_and_grad

EPS = [0.0, 0.3, 0.6, 0.9]


def _double(net):
    return net.subnet(torch.arange(net.width)).double()


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_span_attack_from_zero_equals_the_full_space_attack(trained_nets, p):
    nets, _, test = trained_nets
    net = _double(nets[p])
    x, y = test.x[:200].double(), test.y[:200].double()
    basis = neuron_basis(net).vectors
    attack = L2Attack(steps=60)
    full = robust_accuracy_curve(net, x, y, EPS, attack)
    span = robust_accuracy_curve(net, x, y, EPS, attack, space=NeuronSpan(net, basis))
    assert torch.equal(full, span)


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_the_engines_exact_steering_is_the_nets_own_attack(trained_nets, p):
    """steering="exact" steps with every neuron, unmerged: the full-space attack's curve;
    "merged" steers p=1 by a few merged units instead."""
    nets, _, test = trained_nets
    net = _double(nets[p])
    x, y = test.x[:200].double(), test.y[:200].double()
    attack = L2Attack(steps=60)
    exact = SpanEngine.build(net, surrogate_tol=1e-3, prune_tol=0.0, steering="exact")
    assert exact.surrogate.width == net.width
    assert torch.equal(exact.robust_accuracy_curve(x, y, EPS, attack, seed=0), robust_accuracy_curve(net, x, y, EPS, attack))
    merged = SpanEngine.build(net, surrogate_tol=1e-3, prune_tol=0.0, steering="merged")
    assert merged.surrogate.width < net.width


def test_an_unknown_steering_is_refused(trained_nets):
    with pytest.raises(ValueError, match="steering"):
        SpanEngine.build(trained_nets[0][1.0], surrogate_tol=1e-3, steering="fast")


def test_span_scores_are_exact_off_the_span(trained_nets):
    """Points x0 + S a + s u with u orthogonal to S: the span model gives f exactly."""
    nets, _, test = trained_nets
    net = _double(nets[3.0])
    basis = neuron_basis(net, rank_tol=1e-2).vectors  # truncated on purpose
    space = NeuronSpan(net, basis)
    gen = torch.Generator().manual_seed(0)
    delta = torch.randn(50, net.W.shape[1], generator=gen, dtype=torch.float64)
    a, s, u = space.split(delta)
    x0 = test.x[:50].double()
    f_span, _ = space.bind(space.anchor(x0), u)(a, s)
    assert torch.allclose(f_span, net(x0 + delta), rtol=1e-10, atol=1e-12)


def test_surrogate_steps_keep_exact_verdicts(trained_nets):
    """A strong attack steered by a few neurons, judged by the full net, never reports
    more robustness than the clean accuracy and finds what the full attack finds here."""
    nets, _, test = trained_nets
    net = nets[3.0]
    x, y = test.x[:300], test.y[:300]
    contributions = net.v.detach().abs()[0] * net.W.detach().norm(dim=1)
    surrogate = net.subnet(torch.nonzero(contributions >= 1e-3 * contributions.max()).squeeze(1))
    basis = neuron_basis(surrogate, rank_tol=1e-3).vectors
    attack = L2Attack(steps=100, restarts=2, keep_best=True)
    fast = robust_accuracy_curve(net, x, y, EPS, attack, space=NeuronSpan(surrogate, basis),
                                 exact_space=NeuronSpan(net, basis), carry_broken=True)
    full = robust_accuracy_curve(net, x, y, EPS, attack)
    assert (fast[1:] - full[1:]).abs().max() <= 0.02


def test_sign_exact_span_has_the_full_nets_sign_even_where_the_small_neurons_decide():
    """Two dominant neurons along e1 (+) and e2 (-) cancel exactly on the points
    t (e1 + e2) + noise: there the 300 tiny neurons decide the sign, and the
    span must fall back to every neuron."""
    gen = torch.Generator().manual_seed(0)
    dim, tiny = 12, 300
    net = PReLUNet(dim, 2 + tiny, p=3.0).double()
    with torch.no_grad():
        net.W.copy_(torch.cat([torch.eye(2, dim, dtype=torch.float64),
                               1e-4 * torch.randn(tiny, dim, generator=gen, dtype=torch.float64)]))
        net.v.copy_(torch.cat([torch.tensor([1.0, -1.0], dtype=torch.float64),
                               1e-4 * torch.randn(tiny, generator=gen, dtype=torch.float64)])[None, :])
    basis = torch.linalg.qr(torch.randn(dim, 4, generator=gen, dtype=torch.float64))[0]
    x0 = torch.randn(400, dim, generator=gen, dtype=torch.float64)
    x0[:200, :2] = torch.rand(200, 1, generator=gen, dtype=torch.float64)  # f of the dominant pair is 0
    delta = torch.randn(400, dim, generator=gen, dtype=torch.float64) * 0.3
    delta[:200] = 0.0
    exact, verdicts = NeuronSpan(net, basis), SignExactSpan(net, basis, tol=1e-3)
    assert verdicts.dominant.W.shape[0] == 2 and verdicts.rest_bound > 0
    a, s, u = exact.split(delta)
    u = torch.where(s[:, None] > 0, u, 0.0)
    f_exact = exact.bind(exact.anchor(x0), u)(a, s)[0]
    f_sign = verdicts.bind(verdicts.anchor(x0), u)(a, s)[0]
    assert torch.equal(torch.sign(f_sign), torch.sign(f_exact))
    x = x0 + a @ basis.T + s[:, None] * u
    assert_within(f_sign[:200], f_exact[:200], score_bound(net, x[:200]))  # the fallback's points
    assert (torch.sign(f_exact[:200]) != 0).all()
    # the dominant neurons alone: within rest_bound ||x||^p of the net everywhere (Algorithm 1's bound)
    x = x0 + a @ basis.T + s[:, None] * u
    f_dominant = verdicts.dominant.bind(verdicts.dominant.anchor(x0), u)(a, s)[0]
    gap = (f_dominant - f_exact).abs()
    assert (gap <= verdicts.rest_bound * x.norm(dim=1).pow(3)).all() and gap.max() > 0
    # the points themselves, without an anchor: the same scores and signs
    assert torch.allclose(exact.scores(x), f_exact, rtol=1e-10, atol=1e-12)
    assert torch.equal(torch.sign(verdicts.scores(x)), torch.sign(f_exact))


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_sign_exact_verdicts_give_the_same_robust_curve(trained_nets, p):
    nets, _, test = trained_nets
    net = nets[p]
    x, y = test.x[:300], test.y[:300]
    basis = neuron_basis(net, rank_tol=1e-3).vectors
    attack = L2Attack(steps=60, restarts=2, keep_best=True)
    curves = [robust_accuracy_curve(net, x, y, EPS, attack, space=NeuronSpan(net, basis), exact_space=exact,
                                    carry_broken=True) for exact in (NeuronSpan(net, basis),
                                                                     SignExactSpan(net, basis, tol=1e-6))]
    assert torch.equal(*curves)


def test_distance_in_the_span_matches_the_full_space(ci_spec, trained_nets):
    nets, train, _ = trained_nets
    net = _double(nets[3.0])
    F = lambda x: ideal_classifier(x, ci_spec, 3.0)  # noqa: E731
    x_data = train.x[:500].double()
    settings = dict(n_batches=1, batch_size=64, steps=150, step_size=0.01, seed=3)
    full = distance_to_ideal(score_and_grad(net), score_and_grad(F), x_data, **settings)  # autograd for F
    basis = neuron_basis(net, extra=torch.eye(ci_spec.n_clusters, ci_spec.dim, dtype=torch.float64)).vectors
    F_net = ideal_net(ci_spec, 3.0, dtype=torch.float64)
    span = distance_to_ideal(score_and_grad(net), score_and_grad(F_net), x_data, **settings,
                             spaces=(NeuronSpan(net, basis), NeuronSpan(F_net, basis)))
    assert span.scale == pytest.approx(full.scale, rel=1e-12)
    assert span.sup == pytest.approx(full.sup, rel=1e-6)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 4.0])
def test_the_ideal_net_is_the_ideal_classifier_with_its_gradient(p):
    spec = MixtureSpec(dim=30, n_clusters=5, n_positive=2, alpha=0.1)
    x = torch.randn(200, spec.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    F_net = ideal_net(spec, p, dtype=torch.float64)
    f, grad = F_net.score_and_input_grad(x)
    _, autograd = score_and_grad(lambda z: ideal_classifier(z, spec, p))(x)
    assert_within(f, ideal_classifier(x, spec, p), score_bound(F_net, x))
    assert_within(grad, autograd, score_bound(F_net, x, derivative=True))


def test_full_space_wraps_any_classifier():
    spec = MixtureSpec(dim=20, n_clusters=4, n_positive=2, alpha=0.1)
    data = sample_mixture(spec, 100, seed=0)
    F = lambda x: ideal_classifier(x, spec, 1.0)  # noqa: E731
    space = FullSpace(score_and_grad(F), spec.dim)
    a, s, u = space.split(torch.zeros(100, spec.dim))
    f, grad = space.bind(space.anchor(data.x))(a, s)
    assert torch.equal(f, F(data.x)) and grad.shape == (100, spec.dim)


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_merging_neurons_with_equal_directions_is_exact(p):

    gen = torch.Generator().manual_seed(0)
    base = torch.randn(3, 8, generator=gen, dtype=torch.float64)
    net = PReLUNet(8, 6, p=p).double()
    with torch.no_grad():  # neurons 0,1 share a direction, 2,3 too (scaled), 4,5 opposite signs of v
        net.W.copy_(torch.stack([base[0], 2 * base[0], base[1], 0.5 * base[1], base[2], base[2]]))
        net.v.copy_(torch.tensor([[1.0, 0.5, -2.0, -1.0, 1.0, -3.0]], dtype=torch.float64))
    merged = merge_by_direction(net, cos_tol=1e-9)
    assert merged.width == 4
    x = torch.randn(30, 8, generator=gen, dtype=torch.float64)
    assert_within(merged(x), net(x), score_bound(net, x) + score_bound(merged, x))


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_row_blocks_change_no_result(ci_spec, trained_nets, monkeypatch, p):
    """PGD and Algorithm 1 step their points in blocks of rows (for the cache): any
    block size gives the same curves and distances, bit for bit."""
    nets, train, test = trained_nets
    net = nets[p]
    x, y = test.x[:300], test.y[:300]
    basis = neuron_basis(net, rank_tol=1e-3, extra=ci_spec.centers()).vectors
    F_net = ideal_net(ci_spec, p)
    strong = L2Attack(steps=40, restarts=2, keep_best=True)

    def results():
        curve = robust_accuracy_curve(net, x, y, EPS, strong, space=NeuronSpan(net, basis),
                                      exact_space=SignExactSpan(net, basis, tol=1e-6), carry_broken=True,
                                      chunk_size=300)
        distance = distance_to_ideal(score_and_grad(net), score_and_grad(F_net), train.x[:400], n_batches=3,
                                     batch_size=50, steps=40, seed=1,
                                     spaces=(NeuronSpan(net, basis), NeuronSpan(F_net, basis)),
                                     exact_net_space=NeuronSpan(net, basis))
        return curve, distance

    whole = results()
    monkeypatch.setattr(spaces, "STEP_BLOCK", 64 * basis.shape[1])  # 64-row blocks
    blocked = results()
    assert torch.equal(whole[0], blocked[0])
    assert whole[1] == blocked[1]


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_stacked_difference_equals_the_two_spaces_side_by_side(ci_spec, trained_nets, p):
    """c f - F as one stacked net: the values and gradients of the two evaluated apart."""
    nets, _, test = trained_nets
    net, spec = _double(nets[p]), ci_spec
    basis = neuron_basis(net, extra=spec.centers().double()).vectors
    f_space, F_space = NeuronSpan(net, basis), NeuronSpan(ideal_net(spec, p, torch.float64), basis)
    stacked = scaled_difference(f_space, F_space, 0.7)
    assert isinstance(stacked, NeuronSpan) and stacked.W.shape[0] == net.width + F_space.W.shape[0]
    gen = torch.Generator().manual_seed(5)
    x0 = test.x[:40].double()
    a, s, u = f_space.split(torch.randn(40, net.W.shape[1], generator=gen, dtype=torch.float64))
    gap, ascent = stacked.bind(stacked.anchor(x0), u)(a, s)
    (f, grad_f), (F, grad_F) = (space.bind(space.anchor(x0), u)(a, s) for space in (f_space, F_space))
    x = x0 + a @ basis.T + s[:, None] * u
    F_net = ideal_net(spec, p, torch.float64)
    assert_within(gap, 0.7 * f - F, 0.7 * score_bound(net, x) + score_bound(F_net, x))
    assert_within(ascent, 0.7 * grad_f - grad_F,
                  0.7 * score_bound(net, x, derivative=True) + score_bound(F_net, x, derivative=True))
    side_by_side = scaled_difference(FullSpace(score_and_grad(net), net.W.shape[1]), F_space, 0.7)
    assert not isinstance(side_by_side, NeuronSpan)  # another kind of space: evaluated apart
    gap_apart, _ = side_by_side.bind(side_by_side.anchor(x0 + a @ basis.T + s[:, None] * u))(
        torch.zeros_like(x0), torch.zeros_like(s))
    assert torch.allclose(gap_apart, gap, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_certified_points_cannot_be_broken(trained_nets, p):
    """The interval bound is below every margin found in the ball: at the ball's surface
    along random directions and at the end of a strong attack."""
    nets, _, test = trained_nets
    net = _double(nets[p])
    x, y = test.x[:200].double(), test.y[:200].double()
    basis = neuron_basis(net, rank_tol=1e-3).vectors
    verdicts = SignExactSpan(net, basis, tol=1e-6)
    gen = torch.Generator().manual_seed(6)
    for eps in (0.05, 0.2, 0.5):
        certified = verdicts.certified(verdicts.anchor(x), y, eps)
        lower, _ = verdicts.dominant.margin_bound(verdicts.dominant.anchor(x), y, eps)
        for _ in range(20):
            delta = torch.nn.functional.normalize(torch.randn(x.shape, generator=gen, dtype=torch.float64), dim=1)
            assert (y * net(x + eps * delta) >= lower - verdicts.rest_bound * (x.norm(dim=1) + eps) ** p).all()
        kept = robust_accuracy_curve(net, x[certified], y[certified], [eps], L2Attack(steps=60, restarts=3,
                                                                                    keep_best=True))
        assert certified.sum() == 0 or kept.item() == 1.0
    assert verdicts.certified(verdicts.anchor(x), y, 0.05).float().mean() > 0.9  # the bound is useful at all


def test_radii_where_every_point_is_certified_are_skipped_without_changing_the_curve(trained_nets, monkeypatch):
    nets, _, test = trained_nets
    net = nets[3.0]
    x, y = test.x[:300], test.y[:300]
    basis = neuron_basis(net, rank_tol=1e-3).vectors
    verdicts = SignExactSpan(net, basis, tol=1e-6)
    radii = [0.0, 0.02, 0.05, 0.3, 0.6, 0.9]
    attacked = []
    run = pgd.still_correct
    monkeypatch.setattr(pgd, "still_correct", lambda *a, **k: attacked.append(a[3]) or run(*a, **k))

    class Uncertified:  # the same verdicts, without certificates
        def __init__(self, space):
            self.anchor, self.bind, self.dim = space.anchor, space.bind, space.dim

    for attack, carry in ((L2Attack(steps=60), False), (L2Attack(steps=60, restarts=2, keep_best=True), True)):
        attacked.clear()
        certified = robust_accuracy_curve(net, x, y, radii, attack, space=NeuronSpan(net, basis),
                                          exact_space=verdicts, carry_broken=carry, chunk_size=300)
        skipped = [e for e in radii if e not in attacked]
        plain = robust_accuracy_curve(net, x, y, radii, attack, space=NeuronSpan(net, basis),
                                      exact_space=Uncertified(verdicts), carry_broken=carry, chunk_size=300)
        assert torch.equal(certified, plain)
        assert 0.02 in skipped and 0.9 not in skipped and certified[-1] < 1


def _two_direction_net(spread: float = 3e-3, loose: int = 10, dim: int = 30, span: int = 12) -> PReLUNet:
    """A p=1 net like a trained one: two groups of neurons within ``spread`` of two directions,
    of both output signs, and ``loose`` neurons elsewhere, all in the first ``span`` coordinates."""
    gen = torch.Generator().manual_seed(3)
    centres = torch.randn(2, span, generator=gen)
    rows = [centres[g] + spread * centres[g].norm() * torch.randn(25, span, generator=gen) for g in (0, 1)]
    W = torch.zeros(50 + loose, dim)
    W[:, :span] = torch.cat(rows + [torch.randn(loose, span, generator=gen)])
    net = PReLUNet(dim, len(W), p=1.0)
    with torch.no_grad():
        net.W.copy_(W * torch.rand(len(W), 1, generator=gen).add(0.5))
        net.v.copy_(torch.randn(1, len(W), generator=gen))
    return net


def test_grouped_span_is_every_neuron_up_to_rounding_where_groups_change_sign():
    """At points placed around the groups' kinks (some proven, some not, for each group), with
    and without a part off the basis, the grouped p=1 model has NeuronSpan's scores and
    gradients within the rounding bound: a group taken as one unit where one of its neurons
    had the other sign would move a gradient by that neuron's |v_j| |W_j S|, far beyond it."""
    net = _two_direction_net()
    basis = neuron_basis(net).vectors
    grouped, neurons = spaces.GroupedSpan(net, basis, cos_tol=1e-3, min_size=16), NeuronSpan(net, basis)
    assert grouped.width == (2, 10)
    gen = torch.Generator().manual_seed(4)
    n = 4000
    x0 = torch.randn(n, net.W.shape[1], generator=gen) / 4
    a = torch.randn(n, basis.shape[1], generator=gen) / 4
    # move each point along the groups' mean directions so that <x, m_g> lands within a few reaches of 0
    means = grouped.mean.double()
    x = x0.double() + a.double() @ basis.double().T
    target = (torch.rand(n, 2, generator=gen) - 0.5) * 6 * grouped.reach.double() * x.norm(dim=1, keepdim=True)
    shift = torch.linalg.lstsq(means @ means.T, (target - x @ means.T).T).solution.T @ means
    x0 = (x0.double() + shift).float()
    u_part = torch.zeros(n, net.W.shape[1])
    u_part[:, -6:] = torch.randn(n, 6, generator=gen)  # off the span of the first 12 coordinates
    for u, s in ((None, torch.zeros(n)), (u_part / u_part.norm(dim=1, keepdim=True), torch.rand(n, generator=gen) / 4)):
        f_g, grad_g = grouped.bind(grouped.anchor(x0), u)(a, s)
        f_n, grad_n = neurons.bind(neurons.anchor(x0), u)(a, s)
        point = x0 + a @ basis.T + (0 if u is None else s[:, None] * u)
        t = point @ grouped.mean.T
        proven = t.abs() > point.norm(dim=1, keepdim=True) * grouped.reach
        assert proven.any(0).all() and (~proven).any(0).all()  # both paths taken for each group
        assert_within(f_g, f_n, score_bound(net, point))
        assert_within(grad_g, grad_n, score_bound(net, point, derivative=True))


def test_grouped_span_is_for_p_1_only(trained_nets):
    net = trained_nets[0][3.0]
    with pytest.raises(ValueError, match="p"):
        spaces.GroupedSpan(net, neuron_basis(net).vectors)
