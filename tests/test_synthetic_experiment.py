import numpy as np
import pytest

from prelu_robust import ParameterError
from prelu_robust.experiments import synthetic
from prelu_robust.store import ResultsStore

TINY = dict(dim=30, n_train=300, n_test=100, width=30, init_scale=1e-4, epochs=20, alphas=[0.05, 0.2],
            repeats=2, eps_grid=[0.0, 0.3, 0.8], attack_points=60, attack_steps=20, strong_restarts=2,
            dist_batches=1, dist_batch_size=20, dist_steps=10, top_neurons=10)


@pytest.mark.parametrize("overrides, message", [
    (dict(n_positive=10), r"n_positive=10.*\[1, 9\]"),
    (dict(alphas=[0.1, -0.2]), r"alphas.*>= 0"),
    (dict(powers=[0.5, 3]), r"powers.*p >= 1"),
    (dict(epoch=3), r"unknown SyntheticConfig parameter.*'epoch'.*epochs"),
    (dict(attack_points=10**6), r"attack_points.*n_test"),
])
def test_bad_settings_are_refused_before_any_computation(overrides, message):
    with pytest.raises(ParameterError, match=message):
        synthetic.make_config("ci", **overrides)


def test_unknown_profile_lists_the_profiles():
    with pytest.raises(ParameterError, match=r"profile='papr'.*'paper'"):
        synthetic.make_config("papr")
    with pytest.raises(ParameterError, match="profile"):
        synthetic.resolve_profile("fast")


def test_paper_profile_has_the_reference_settings():
    c = synthetic.PROFILES["paper"]
    assert (c.dim, c.n_clusters, c.n_positive, c.n_train, c.width, c.init_scale) == (1000, 10, 6, 20000, 2000, 1e-7)
    assert (c.lr, c.batch_size, c.epochs, c.repeats, c.attack_steps) == (0.2, 100, 401, 5, 2000)
    assert np.allclose(c.alphas, np.linspace(0.01, 0.3, 15)) and np.allclose(c.eps_grid, np.linspace(0, 1.5, 15))


def test_runs_are_stored_resumed_and_deterministic(tmp_path):
    config = synthetic.make_config("ci", **TINY)
    store = ResultsStore(tmp_path / "a")
    first = synthetic.run(config, "ci", store=store, device="cpu", show_progress=False)
    assert first.cost.computed == first.cost.total == 8
    assert first.robust_reference.shape == (2, 2, 3) and first.distance.shape == (2, 2, 2)
    again = synthetic.run(config, "ci", store=store, device="cpu", show_progress=False)
    assert again.cost.computed == 0
    assert synthetic.is_complete(config, store)
    fresh = synthetic.run(config, "ci", store=ResultsStore(tmp_path / "b"), device="cpu", show_progress=False)
    for name in ("distance", "robust_reference", "robust_strong", "contributions", "cosines"):
        assert np.array_equal(getattr(first, name), getattr(fresh, name)), name


def test_a_changed_setting_recomputes_only_what_it_affects(tmp_path):
    store = ResultsStore(tmp_path)
    config = synthetic.make_config("ci", **TINY)
    synthetic.run(config, "ci", store=store, device="cpu", show_progress=False)
    # attack settings only enter the runs at the first alpha
    changed = synthetic.make_config("ci", **{**TINY, "attack_steps": 21})
    result = synthetic.run(changed, "ci", store=store, device="cpu", show_progress=False)
    assert result.cost.computed == 4


def test_auto_profile_uses_paper_results_only_when_complete(tmp_path):
    profile, config = synthetic.resolve_profile("auto", store=ResultsStore(tmp_path), n_clusters=20)
    assert profile == "ci" and config.n_clusters == 20


def test_unavailable_device_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ParameterError, match="device"):
        synthetic.run(synthetic.make_config("ci", **TINY), device="cuda", show_progress=False)


def test_shards_fill_the_store_and_record_their_cost(tmp_path):
    config = synthetic.make_config("ci", **TINY)
    store = ResultsStore(tmp_path)
    costs = [synthetic.compute_share(config, "ci", shard=(i, 3), store=store, device="cpu", show_progress=False)
             for i in range(3)]
    assert [c.computed for c in costs] == [3, 3, 2]  # 8 runs, each computed once
    merged = synthetic.run(config, "ci", store=store, device="cpu", show_progress=False)
    assert merged.cost.computed == 0
    single = synthetic.run(config, "ci", store=ResultsStore(tmp_path / "one"), device="cpu", show_progress=False)
    assert np.array_equal(merged.robust_reference, single.robust_reference)
    recorded = synthetic.stored_costs(config, store)
    assert sorted(recorded) == [(1.0, False), (1.0, True), (3.0, False), (3.0, True)]
    assert sum(len(v) for v in recorded.values()) == 8 and all(s > 0 for v in recorded.values() for s in v)
    with pytest.raises(ParameterError, match="shard"):
        synthetic.compute_share(config, "ci", shard=(3, 3), store=store)


def test_attack_variants_are_stored_beside_the_runs_and_ordered(tmp_path):
    """The variants of the attacked models: stored once, found again, strong below the others,
    and the figure's own entries untouched (their keys do not change)."""
    store = ResultsStore(tmp_path)
    config = synthetic.make_config("ci", **{**TINY, "eps_grid": [0.0, 0.3, 0.8, 1.2]})
    assert synthetic.variants(config, store) is None  # nothing stored, nothing computed
    curves = synthetic.variants(config, store, compute=True, show_progress=False)
    P, R, E = len(config.powers), config.repeats, len(config.eps_grid)
    assert set(curves.robust) == {"as_written", "exact", "strong"}
    assert all(c.shape == (P, R, E) for c in curves.robust.values()) and curves.distance_as_written.shape == (P, R)
    assert curves.cost.computed == P * R
    for name in ("as_written", "exact"):
        assert (curves.robust["strong"] <= curves.robust[name] + 1e-12).all()
    again = synthetic.variants(config, store)
    assert again.cost.computed == 0 and np.array_equal(again.robust["strong"], curves.robust["strong"])
    assert not any(store.has(synthetic.KIND, one.settings()) for one in config.runs())


def test_nets_that_did_not_fit_are_flagged_on_the_page(tmp_path):
    """One epoch from a 1e-7 initialisation: the nets stay near zero and the page says so."""
    import dataclasses

    from prelu_robust.reporting import training_check

    config = synthetic.make_config("ci", **{**TINY, "epochs": 1, "init_scale": 1e-7, "repeats": 1})
    results = synthetic.run(config, "ci", store=ResultsStore(tmp_path), device="cpu", show_progress=False)
    assert (results.train_error > 0).all()
    warning = training_check(results)
    assert "did not fit their training data" in warning
    assert "- p=1: 2 of 2 runs" in warning and "- p=3: 2 of 2 runs" in warning
    assert training_check(dataclasses.replace(results, train_error=np.zeros_like(results.train_error))) == ""


def test_every_power_gets_its_cosine_map(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from prelu_robust import plots

    config = synthetic.make_config("ci", **{**TINY, "powers": [1, 2, 3], "repeats": 1})
    results = synthetic.run(config, "ci", store=ResultsStore(tmp_path), device="cpu", show_progress=False)
    titles = " | ".join(ax.get_title() for ax in plots.synthetic_figure(results).axes)
    assert all(f"p={p}" in titles for p in (1, 2, 3)), titles


def test_the_page_counts_the_centres_the_dominant_neurons_cover_and_names_those_missed(tmp_path):
    import dataclasses

    from prelu_robust.neurons import COVERAGE_COSINE
    from prelu_robust.reporting import centre_coverage

    config = synthetic.make_config("ci", **{**TINY, "repeats": 1, "alphas": [0.05]})
    results = synthetic.run(config, "ci", store=ResultsStore(tmp_path), device="cpu", show_progress=False)
    cosines = np.zeros_like(results.cosines)
    cosines[1, 0, 2:] = 1.0  # the largest p=3 neuron at every centre: all covered
    text = centre_coverage(dataclasses.replace(results, cosines=cosines), 1)
    assert f"point at {config.n_clusters} of the {config.n_clusters} centres (cosine > {COVERAGE_COSINE:g})" in text
    assert "not all" not in text
    cosines[1, 0, 2 + 3] = COVERAGE_COSINE  # at the threshold: mu_4 is not covered
    cosines[1, 1:, 2 + 3] = 1.0  # nor by neurons that carry too little of the contributions
    small = results.contributions.copy()
    small[1, 1:] = small[1, 0] * config.surrogate_tol / 10
    text = centre_coverage(dataclasses.replace(results, cosines=cosines, contributions=small), 1)
    assert f"point at {config.n_clusters - 1} of the" in text and "**not all of them**" in text and "mu_4." in text
    assert "the 1 dominant neurons" in text


def test_the_ci_profile_trains_every_net_of_a_larger_setting_and_reports_the_coverage(tmp_path):
    """D = 500, K = 14, K1 = 6 at the ci profile (about a minute): every p = 1 and p = 3 net
    fits its training data, and the page's summary says how many centres p = 3 covers."""
    from prelu_robust.reporting import synthetic_summary, training_check

    config = synthetic.make_config("ci", dim=500, n_clusters=14, n_positive=6)
    results = synthetic.run(config, "ci", store=ResultsStore(tmp_path), device="cpu", show_progress=False)
    assert (results.train_error == 0).all() and training_check(results) == ""
    summary = synthetic_summary(results)
    assert "p=3: the " in summary and " of the 14 centres (cosine > 0.95)" in summary
