"""The sweep pages' reading of a sweep: breaking radii, neuron alignment, the figures
(static and interactive) from a tiny sweep's store, the committed sweep store, and the
shipped sweeps' committed results."""

import math

import numpy as np
import pytest
import yaml
from matplotlib.figure import Figure

from prelu_robust import ParameterError, interactive, neurons, paths, plots, reporting, sweep, sweep_results
from prelu_robust import pages as book_pages
from prelu_robust.data.gmm import MixtureSpec
from prelu_robust.metrics import cosine_matrix
from prelu_robust.store import committed_store, default_store

from test_sweep import TINY

SHIPPED = sorted((paths.CHECKOUT / "sweeps").glob("*.yaml"))


def test_the_crossing_radius_is_linear_between_the_grid_radii():
    eps = np.array([0.0, 0.1, 0.2, 0.3])
    assert sweep_results.crossing_radius(eps, np.array([1.0, 0.9, 0.3, 0.0])) == pytest.approx(0.1 + 0.1 * 0.4 / 0.6)
    assert sweep_results.crossing_radius(eps, np.array([0.4, 0.1, 0.0, 0.0])) == 0.0
    assert sweep_results.crossing_radius(eps, np.array([1.0, 1.0, 0.8, 0.5])) == math.inf


@pytest.mark.parametrize("k, k1", [(10, 6), (4, 2)])
def test_alignment_scores_tell_class_average_neurons_from_subclass_centre_neurons(k, k1):
    spec = MixtureSpec(30, k, k1, 0.0)
    directions = spec.reference_directions()  # (K + 2, D): mu_+, mu_-, mu_1..mu_K
    averages, centres = directions[:2], directions[2:]
    weights = np.ones(2)
    on_averages = neurons.alignment_scores(cosine_matrix(averages, directions).numpy(), weights)
    # mu_+ has cosine 1/sqrt(K1) with each centre of its class, mu_- 1/sqrt(K - K1)
    assert on_averages == pytest.approx(((1 / math.sqrt(k1) + 1 / math.sqrt(k - k1)) / 2, 1.0), abs=1e-6)
    on_centres = neurons.alignment_scores(cosine_matrix(centres, directions).numpy(), np.ones(k))
    expected = (k1 / math.sqrt(k1) + (k - k1) / math.sqrt(k - k1)) / k
    assert on_centres == pytest.approx((1.0, expected), abs=1e-6)
    with pytest.raises(ParameterError):
        neurons.alignment_scores(np.ones((3, 4)), np.zeros(3))


@pytest.fixture
def tiny_sweep(tmp_path, monkeypatch):
    """Two points of a K sweep at tiny sizes (p = 1 and 3 at each), computed into a scratch root."""
    monkeypatch.setenv(paths.RESULTS_ENV, str(tmp_path / "results"))
    spec = {"notebook": "notebooks/synthetic_gmm.py", "question": "Does K matter?",
            "parameters": {**TINY, "repeats": 2, "powers": [1, 3], "eps_grid": [0.0, 0.3, 0.6, 0.9]},
            "zip": {"n_clusters": [4, 6], "n_positive": [2, 3]}}
    path = tmp_path / "tiny_k.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    plan = sweep.load(path)
    assert not sweep.run(plan, workers=2, execute_notebooks=False).failures
    return plan


def test_a_sweep_page_reads_every_run_of_its_sweep(tiny_sweep):
    r = sweep_results.load(tiny_sweep)
    assert r.complete and r.axis == "n_clusters" and r.values == [4.0, 6.0] and r.powers == [1.0, 3.0]
    assert r.entries == 2 * 2 * 2 * 2 and r.clusters.tolist() == [[4, 2], [6, 3]]  # points x p x repeats x kinds
    radii = sweep_results.breaking_radii(r)
    assert len(radii) == 2 * 2 * 2 * len(sweep_results.ATTACKS)
    assert set(radii["attack"]) == {label for _, label in sweep_results.ATTACKS}
    aligned = sweep_results.alignment(r)
    assert len(aligned) == 8 and aligned["alignment_centres"].between(0, 1 + 1e-6).all()
    assert {(point, p) for point, p in r.cosines} == {(0, 1.0), (0, 3.0), (1, 1.0), (1, 3.0)}
    assert r.cosines[1, 3.0].shape[1] == 6 + 2
    assert "n_clusters = 4, 6" in reporting.sweep_banner(r, "CMD") and "missing" not in reporting.sweep_banner(r, "CMD")
    table = reporting.sweep_table(r)
    assert len(table.splitlines()) == 2 + 4 and "breaking radius, strong" in table


def test_a_missing_run_is_named_with_the_command_that_computes_it(tiny_sweep):
    need = sweep.point_runs(tiny_sweep, tiny_sweep.points()[1])
    kind, one = need.runs[0]
    entry = need.store.path(kind, one.settings())
    for f in entry.iterdir():
        f.unlink()
    entry.rmdir()
    r = sweep_results.load(tiny_sweep)
    assert not r.complete and len(r.missing) == 1 and "point 1 (n_clusters=6)" in r.missing[0]
    assert "**1 entries are missing**: run `CMD`" in reporting.sweep_banner(r, "CMD")


def test_the_figures_have_a_panel_per_exponent_and_a_slider_step_per_point(tiny_sweep):
    r = sweep_results.load(tiny_sweep)
    assert isinstance(plots.sweep_robust_figure(r), Figure) and len(plots.sweep_robust_figure(r).axes) == 2
    assert len(plots.sweep_summary_figure(r).axes) == 2
    for fig in (interactive.robust_slider_figure(r), interactive.alignment_slider_figure(r)):
        steps = fig.layout.sliders[0].steps
        assert [s.label for s in steps] == ["4", "6"]
        shown = [np.flatnonzero(s.args[0]["visible"]) for s in steps]
        assert all(len(v) for v in shown) and not set(shown[0]) & set(shown[1])  # each step its own traces
        assert [bool(t.visible) for t in fig.data] == list(steps[0].args[0]["visible"])
    html = interactive.embed(interactive.robust_slider_figure(r)).data
    assert "Plotly.newPlot" in html and "cdn.plot.ly" not in html and "<script src" not in html


def test_commit_writes_the_committed_store_of_a_committed_profile_only(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.RESULTS_ENV, str(tmp_path / "results"))
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"notebook": "notebooks/synthetic_gmm.py",
                                    "parameters": {**TINY, "profile": "sweep"}, "axes": {"powers": [[1]]}}))
    plan = sweep.load(path)
    assert sweep.run(plan, executor="inline", execute_notebooks=False, commit=True).computed == 2
    need = sweep.point_runs(plan, plan.points()[0])
    assert all(committed_store("sweep").has(kind, one.settings()) for kind, one in need.runs)
    monkeypatch.delenv(paths.RESULTS_ENV)
    assert default_store("sweep").read_also == (committed_store("sweep").root,)
    ci = sweep.Sweep("ci", plan.notebook, {**TINY}, {"powers": [[1]]})
    with pytest.raises(ParameterError, match="a committed profile"):
        sweep.run(ci, execute_notebooks=False, commit=True)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_sweep_is_committed_complete_within_half_an_hour_on_two_cores(path):
    plan = sweep.load(path)
    r = sweep_results.load(plan)
    assert plan.question and r.complete, r.missing[:3]
    assert set(r.table["product_dtype"]) == {"float32"} and r.table["repeat"].nunique() >= 3
    assert r.table["attack_steps"].eq(2000).all()  # the paper's attack, not a reduced one
    assert r.table["steering"].eq("exact").all()  # steered by the nets' own gradients
    assert r.cpu_s / 2 < 30 * 60  # as the entries recorded their computation
    pages = {page.parameters.get("sweep_file") for page in book_pages.load().notebooks}
    assert f"sweeps/{path.name}" in pages
