"""The neuron-alignment figure at its default settings (about 30 s)."""

import numpy as np
import pytest

from prelu_robust import ParameterError
from prelu_robust.experiments import alignment
from prelu_robust.store import ResultsStore


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    store = ResultsStore(tmp_path_factory.mktemp("alignment"))
    return {r.p: r for r in alignment.run(alignment.make_config(), store=store).runs}


def test_p1_dominant_neurons_point_at_the_class_averages(runs):
    r = runs[1.0]
    spec = alignment.make_config().mixture()
    means = spec.class_means().numpy()
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    cos = r.directions[-1][r.dominant()] @ means.T
    assert (cos.max(axis=1) > 0.95).all()
    assert (cos.max(axis=0) > 0.95).all()  # both averages are used


def test_p3_dominant_neurons_point_at_individual_centres(runs):
    r = runs[3.0]
    cos = r.directions[-1][r.dominant()] @ np.eye(3)
    assert (cos.max(axis=1) > 0.95).all()
    assert set(cos.argmax(axis=1)) == {0, 1, 2}  # every centre is covered


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_predicted_extremal_vectors_match_the_learned_directions(runs, p):
    r = runs[p]
    assert r.angle_to_prediction().max() < 5.0
    expected = {1.0: 2, 3.0: 3}[p]  # mu_+ and mu_3; or the three centres
    assert len(r.extremal_positive) + len(r.extremal_negative) == expected


def test_direction_aligns_before_the_norm_grows(runs):
    for r in runs.values():
        i = r.alignment_index(1000.0)
        idx = r.dominant()
        cos = (r.directions[i][idx] * r.targets()[idx]).sum(1)
        assert cos.min() > 0.99
        norms = np.linalg.norm(r.W, axis=2)
        assert norms[i].max() < 1e-3 * norms[-1].max()


def test_neurons_no_point_activates_stay_small(runs):
    r = runs[3.0]
    dead = (r.x @ r.directions[-1].T <= 0).all(axis=0)
    assert dead.any()
    assert r.contributions[-1][dead].max() < 1e-3 * r.contributions[-1].max()


def test_alignment_is_deterministic(tmp_path):
    cfg = alignment.make_config(steps=300, n_snapshots=5, powers=[3])
    a = alignment.run(cfg, store=ResultsStore(tmp_path / "a")).runs[0]
    b = alignment.run(cfg, store=ResultsStore(tmp_path / "b")).runs[0]
    assert np.array_equal(a.W, b.W) and np.array_equal(a.extremal_positive, b.extremal_positive)


def test_the_figure_needs_three_dimensions():
    with pytest.raises(ParameterError, match="dim"):
        alignment.make_config(dim=4, n_clusters=3)


def test_the_phases_text_is_computed_from_the_runs(runs):
    from prelu_robust.reporting import alignment_phases

    lines = alignment_phases([runs[1.0], runs[3.0]]).splitlines()
    assert [line.split(":")[0] for line in lines] == ["- p=1", "- p=3"]
    for line, run in zip(lines, (runs[1.0], runs[3.0])):
        assert f"(step {int(run.steps[run.alignment_index(1000.0)])})" in line and "median factor" in line
        within = float(line.split("within ")[1].split(" degrees")[0])
        assert within < 5  # the directions settle before the norms grow
