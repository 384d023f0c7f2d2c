import math

import pytest
import torch

from prelu_robust.neurons import contributions as neuron_contributions
from prelu_robust import metrics
from prelu_robust.spaces import score_and_grad
from prelu_robust.metrics import (
    cosine_matrix,
    distance_to_ideal,
    least_squares_scale,
    stable_rank,
)


def test_distance_of_a_classifier_to_a_multiple_of_itself_is_zero():
    F = lambda x: x[:, 0].clamp_min(0) - x[:, 1].clamp_min(0)  # noqa: E731
    data = torch.randn(100, 6, dtype=torch.float64)
    est = distance_to_ideal(score_and_grad(lambda x: 2 * F(x)), score_and_grad(F), data,
                            n_batches=2, batch_size=20, steps=20)
    assert est.scale == pytest.approx(0.5)
    assert est.sup < 1e-12


def test_algorithm_1_finds_the_closed_form_supremum():
    """f = <x,e1>, F = <x,e2>, data e1+e2: c = 1 and sup_{|x|=1} |x1 - x2| = sqrt(2)."""
    f = lambda x: x[:, 0]  # noqa: E731
    F = lambda x: x[:, 1]  # noqa: E731
    data = torch.tensor([[1.0, 1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    est = distance_to_ideal(score_and_grad(f), score_and_grad(F), data, n_batches=2, batch_size=10,
                            steps=300, step_size=0.01)
    assert est.scale == pytest.approx(1.0)
    assert est.sup <= math.sqrt(2) + 1e-9  # a lower bound of the supremum
    assert est.sup == pytest.approx(math.sqrt(2), abs=1e-3)


def test_least_squares_scale_minimises_the_mean_square():
    f, F = torch.randn(50), torch.randn(50)
    c = least_squares_scale(f, F)
    best = ((c * f - F) ** 2).mean()
    for other in (c - 0.01, c + 0.01):
        assert ((other * f - F) ** 2).mean() > best


def test_contributions_cosines_and_stable_rank_closed_forms():
    W = torch.tensor([[3.0, 4.0], [0.0, -2.0]])
    v = torch.tensor([2.0, -0.5])
    assert neuron_contributions(W, v).tolist() == pytest.approx([10.0, 1.0])
    cos = cosine_matrix(W, torch.tensor([[1.0, 0.0], [0.0, 5.0]]))
    assert torch.allclose(cos, torch.tensor([[0.6, 0.8], [0.0, -1.0]]))
    H = torch.diag(torch.tensor([3.0, 1.0, 1.0]))
    assert stable_rank(H) == pytest.approx(11 / 9)
    assert stable_rank(torch.ones(5, 4)) == pytest.approx(1.0)


@pytest.mark.parametrize("n, h", [(500, 300), (200, 400)])  # both sides of the operator
def test_stable_rank_by_lanczos_is_the_full_svds(n, h):
    """Lanczos on float32 H: its products round each entry of H^T H v to ~n * eps relative at worst."""
    H = torch.randn(n, h, generator=torch.Generator().manual_seed(0)).relu_() + 0.1
    H64 = H.double()
    exact = float(torch.linalg.matrix_norm(H64) ** 2 / torch.linalg.svdvals(H64)[0] ** 2)
    assert stable_rank(H) == pytest.approx(exact, rel=max(n, h) * torch.finfo(torch.float32).eps)
    assert stable_rank(torch.outer(H[:, 0], H[0])) == pytest.approx(1.0, rel=max(n, h) * torch.finfo(torch.float32).eps)
    assert stable_rank(torch.zeros(n, h)) == 0.0


def _rowwise_oracle(W: torch.Tensor, v: torch.Tensor, calls: list[int]):
    """f(x) = sum_j v_j relu(<x, w_j>) and its gradient, summed along each row (no BLAS): a
    row's values do not depend on the other rows evaluated with it."""

    def oracle(x):
        calls.append(len(x))
        pre = (x[:, None, :] * W[None]).sum(-1)
        return (pre.clamp_min(0) * v).sum(-1), ((pre > 0) * v)[:, :, None].mul(W[None]).sum(1)

    return oracle


@pytest.mark.parametrize("written", [False, True])
def test_algorithm_1_reads_cycling_points_off_their_cycle(monkeypatch, written):
    """Points leave the ascent once their iterates cycle; the estimate is bitwise that of
    ascending every point for every step."""
    gen = torch.Generator().manual_seed(0)
    f_w, F_w = torch.randn(12, 8, generator=gen), torch.randn(4, 8, generator=gen)
    f_v, F_v = torch.randn(12, generator=gen), torch.randn(4, generator=gen)
    data = torch.randn(50, 8, generator=gen)

    def estimate():
        calls: list[int] = []
        est = distance_to_ideal(_rowwise_oracle(f_w, f_v, calls), _rowwise_oracle(F_w, F_v, calls), data,
                                n_batches=2, batch_size=100, steps=400, step_size=0.2, written=written)
        return est, sum(calls)

    cycling, cycling_rows = estimate()

    class NeverFound(metrics.Cycles):
        def saw(self, step, a, s):
            self.last_step.fill_(self.steps)
            return self.last_step == step

    monkeypatch.setattr(metrics, "Cycles", NeverFound)
    every, every_rows = estimate()
    assert cycling_rows < every_rows
    assert (cycling.sup, cycling.scale, cycling.per_batch) == (every.sup, every.scale, every.per_batch)
