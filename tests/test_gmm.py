import pytest
import torch

from prelu_robust import ParameterError
from prelu_robust.data.gmm import MixtureSpec, sample_mixture


def test_samples_have_the_mixture_statistics():
    spec = MixtureSpec(dim=400, n_clusters=5, n_positive=2, alpha=0.3)
    s = sample_mixture(spec, 5000, seed=3)
    assert s.x.shape == (5000, 400) and s.y.shape == (5000,) and s.cluster.shape == (5000,)
    assert set(s.y.tolist()) == {-1.0, 1.0}
    assert torch.equal(s.y, torch.where(s.cluster < 2, 1.0, -1.0))
    noise = s.x - spec.centers()[s.cluster]
    assert noise.norm(dim=1).mean().item() == pytest.approx(0.3, rel=0.02)
    counts = torch.bincount(s.cluster, minlength=5)
    assert counts.min() > 900  # uniform draw: 1000 +- 3 sigma


def test_balanced_draw_is_exactly_balanced_and_shuffled():
    spec = MixtureSpec(dim=20, n_clusters=6, n_positive=3, alpha=0.1)
    s = sample_mixture(spec, 602, seed=0, balanced=True)
    assert torch.bincount(s.cluster).tolist() == [101, 101, 100, 100, 100, 100]
    assert not torch.equal(s.cluster[:6], torch.arange(6))


def test_same_seed_same_samples():
    spec = MixtureSpec(dim=20, n_clusters=4, n_positive=1, alpha=0.2)
    a, b = sample_mixture(spec, 100, seed=7), sample_mixture(spec, 100, seed=7)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, sample_mixture(spec, 100, seed=8).x)


def test_reference_directions_are_unit_rows():
    spec = MixtureSpec(dim=30, n_clusters=10, n_positive=6, alpha=0.1)
    d = spec.reference_directions()
    assert d.shape == (12, 30)
    assert torch.allclose(d.norm(dim=1), torch.ones(12))
    assert d[0, :6].tolist() == pytest.approx([6**-0.5] * 6)


@pytest.mark.parametrize("kwargs, name", [
    (dict(dim=10, n_clusters=4, n_positive=4, alpha=0.1), "n_positive"),
    (dict(dim=10, n_clusters=4, n_positive=2, alpha=-0.1), "alpha"),
    (dict(dim=3, n_clusters=4, n_positive=2, alpha=0.1), "dim"),
])
def test_impossible_mixtures_are_refused(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        MixtureSpec(**kwargs)
