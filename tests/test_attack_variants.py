"""The three attack variants and the two versions of Algorithm 1, against the
reference implementations written from the authors' code (prelu_robust.reference)."""

import copy

import pytest
import torch

from prelu_robust import paper
from prelu_robust.attacks import (VARIANTS, Centres, L2Attack, as_written, exact, robust_accuracy_curve, strong,
                                  written_share)
from prelu_robust.attacks import pgd
from prelu_robust.data.gmm import MixtureSpec, sample_mixture
from prelu_robust.metrics import distance_to_ideal
from prelu_robust.models import ideal_net
from prelu_robust.reference import algorithm1_reference, pgd_as_written
from prelu_robust.spaces import FullSpace, score_and_grad


def _last_iterates(net, x, y, eps, attack):
    space = FullSpace(score_and_grad(net), x.shape[1])
    zero = torch.zeros_like(x)
    a, _, _, _ = pgd._pgd(lambda rows: space.bind(x[rows]), zero, torch.zeros(len(y)), y, eps, attack, keep_best=False)
    return a


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_as_written_takes_the_authors_steps(trained_nets, p):
    """Same iterates as the autograd transcription of the authors' loop, to float32 rounding:
    100 steps whose lengths are each within a few ulp of 0.1 move a point by ~1e-5 at most."""
    nets, _, test = trained_nets
    x, y = test.x[:200], test.y[:200]
    for eps in (0.3, 0.9):
        ours = _last_iterates(nets[p], x, y, eps, as_written(100, 0.1, loss_batch=len(y)))
        theirs = pgd_as_written(nets[p], x, y, eps, steps=100, step_size=0.1)
        bound = 100 * 0.1 * 64 * torch.finfo(torch.float32).eps
        assert (ours - theirs).norm(dim=1).max() <= bound


def test_the_guard_damps_steps_of_points_far_on_the_correct_side(trained_nets):
    """With a large margin, exp(-y f)/n falls under the guard: the written attack barely moves
    such a point while the exact one uses its whole budget."""
    nets, _, test = trained_nets
    x, y = test.x[:200], test.y[:200]
    net = copy.deepcopy(nets[3.0])
    with torch.no_grad():
        net.v.mul_(30.0 / float((y * net(x)).median()))  # margins ~30, as after long training
    margin = y * net(x)
    written = _last_iterates(net, x, y, 1.0, as_written(50, 0.1, loss_batch=20000)).norm(dim=1)
    exact_norm = _last_iterates(net, x, y, 1.0, exact(50, 0.1)).norm(dim=1)
    far = margin > margin.median()
    assert (written[far] < exact_norm[far]).all()
    assert exact_norm.min() == pytest.approx(1.0, rel=1e-5)


def test_written_share_is_the_guarded_normalisation():
    g = torch.tensor([1e-12, 1e-9, 1e-7, 1e-5, 1.0], dtype=torch.float64)
    assert torch.allclose(written_share(g.log()), g / (g + 1e-7), rtol=1e-12)
    assert written_share(torch.tensor([-1e4, 1e4])).tolist() == [0.0, 1.0]  # no overflow in the log domain


def test_variants_are_registered_and_distinct():
    assert set(VARIANTS) == {"as_written", "exact", "strong"}
    written, plain, best = (VARIANTS[name](steps=10, step_size=0.1) for name in ("as_written", "exact", "strong"))
    assert written.loss_batch == 20000 and plain.loss_batch is None
    assert best.keep_best and best.toward_centres and best.restarts == 3


def test_strong_attack_finds_the_truth_beyond_sqrt2_over_2():
    """Past sqrt(2)/2 the straight line toward an opposite-class centre crosses the midpoint of
    the two centres, where F^(3) changes sign: the strong attack breaks every point, as MV25's
    bound says it must at least break min(K1, K2)/K of them; PGD from the clean point does not."""
    spec = MixtureSpec(dim=100, n_clusters=10, n_positive=6, alpha=0.05)
    data = sample_mixture(spec, 300, seed=0)
    F3 = ideal_net(spec, 3.0)
    centres = Centres(spec.centers(), torch.tensor([1.0] * 6 + [-1.0] * 4))
    eps = [0.6, 0.75, 0.857]
    found = robust_accuracy_curve(F3, data.x, data.y, eps, strong(200, 0.1), centres=centres)
    zero_start = robust_accuracy_curve(F3, data.x, data.y, eps, exact(200, 0.1))
    assert found[0] == 1.0  # below sqrt(2)/2 nothing breaks F^(3)
    assert (found[1:] <= 0.01).all() and (found[1:] <= paper.mv25_bound(10, 6)).all()
    assert (zero_start[1:] > 0.5).all()


def test_strong_attack_needs_the_centres(trained_nets):
    nets, _, test = trained_nets
    with pytest.raises(ValueError, match="centres"):
        robust_accuracy_curve(nets[3.0], test.x[:10], test.y[:10], [0.5], strong(10, 0.1))


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_algorithm1_as_written_matches_the_authors_loop(trained_nets, ci_spec, p):
    nets, train, _ = trained_nets
    ideal = ideal_net(ci_spec, p)
    sizes = dict(n_batches=2, batch_size=100, steps=50, step_size=0.01, seed=3)
    ours = distance_to_ideal(score_and_grad(nets[p]), score_and_grad(ideal), train.x, written=True, **sizes)
    theirs = algorithm1_reference(nets[p], ideal, train.x, **sizes)
    assert ours.sup == pytest.approx(theirs, rel=1e-3)


def test_per_point_ascent_finds_at_least_the_written_one(trained_nets, ci_spec):
    nets, train, _ = trained_nets
    ideal = ideal_net(ci_spec, 3.0)
    sizes = dict(n_batches=2, batch_size=100, steps=50, step_size=0.01, seed=3)
    oracle = score_and_grad(nets[3.0]), score_and_grad(ideal)
    written = distance_to_ideal(*oracle, train.x, written=True, **sizes)
    per_point = distance_to_ideal(*oracle, train.x, **sizes)
    assert per_point.sup >= written.sup
