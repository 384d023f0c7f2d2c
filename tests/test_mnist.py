"""MNIST on the real files (../shared/data or data/), with a small subset for attacks."""

import dataclasses
import hashlib

import numpy as np
import pytest
import torch

from prelu_robust import ParameterError
from prelu_robust.data import mnist as mnist_data
from prelu_robust.attacks import apgd
from prelu_robust.experiments import mnist
from prelu_robust.models import PReLUNet, products_in
from prelu_robust.store import ResultsStore

MD5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
       "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
       "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
       "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}

TINY = dict(n_train=2000, n_test=400, powers=[1, 3], repeats=1, epochs=3, eps_grid=[0.0, 0.05, 0.1, 0.2],
            attack_points=100, table1=False, correlation_points=200)


@pytest.fixture(scope="module")
def paper_split():
    return mnist_data.load_mnist("paper", 10)


def test_raw_files_have_the_canonical_checksums(paper_split):
    raw = mnist_data.data_root() / "MNIST" / "raw"
    for name, md5 in MD5.items():
        assert hashlib.md5((raw / name).read_bytes()).hexdigest() == md5


def test_paper_and_official_splits(paper_split):
    d = paper_split
    assert d.x_train.shape == (50000, 784) and d.x_test.shape == (10000, 784)
    assert 0.0 <= float(d.x_train.min()) and float(d.x_train.max()) <= 1.0
    assert torch.bincount(d.y_train, minlength=10).sum() == 50000
    official = mnist_data.load_mnist("official", 10)
    assert official.x_train.shape == (60000, 784) and official.x_test.shape == (10000, 784)
    assert torch.bincount(official.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    # the paper's test split is training images 50,000-59,999
    assert torch.equal(d.x_test, official.x_train[50000:]) and torch.equal(d.y_train, official.y_train[:50000])
    parity = mnist_data.load_mnist("paper", 2)
    assert torch.equal(parity.y_train, d.y_train % 2)


@pytest.mark.parametrize("kwargs, name", [(dict(split="test"), "split"), (dict(n_class=5), "n_class")])
def test_unknown_split_or_n_class_is_refused(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        mnist_data.load_mnist(**kwargs)
    with pytest.raises(ParameterError, match=name):
        mnist.make_config("ci", **kwargs)


def test_missing_dataset_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PRELU_ROBUST_SHARED_DATA", str(tmp_path / "nothing"))
    monkeypatch.setattr("torchvision.datasets.MNIST.mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(mnist_data.DatasetMissingError, match="Put the four original files"):
        mnist_data.load_mnist(root=tmp_path / "empty")


def test_model_shapes_and_reference_init():
    cfg = mnist.make_config("ci", **TINY)
    data = mnist.load_data(cfg)
    net, history = mnist.train_run(mnist.MnistRun(cfg, 1.0, 0), data, torch.device("cpu"), show_progress=False)
    assert net.W.shape == (500, 784) and net.v.shape == (10, 500) and net.b.shape == (10,)
    assert net(data.x_test[:7]).shape == (7, 10)
    assert set(history) == {"train_loss", "train_accuracy", "test_accuracy", "stable_rank"}
    assert all(len(v) == 3 for v in history.values())
    assert history["test_accuracy"][-1] > 0.5  # far above chance after six Adam steps


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    cfg = mnist.make_config("ci", **TINY)
    store = ResultsStore(tmp_path_factory.mktemp("mnist"))
    return cfg, store, mnist.run(cfg, "ci", store=store, device="cpu", show_progress=False)


def test_robust_accuracy_is_at_most_clean_and_monotone(tiny_results):
    _, _, r = tiny_results
    assert r.robust_accuracy.shape == (2, 1, 4)
    for curve in r.robust_accuracy.reshape(-1, 4):
        assert (np.diff(curve) <= 0).all()
    assert r.robust_accuracy[0, 0, -1] < r.robust_accuracy[0, 0, 0]  # the attack does something
    assert r.correlation.shape == (200, 200)


def test_evaluate_gives_the_experiments_own_numbers(tiny_results):
    """The public one-call evaluation, on a net the test trained, reproduces the stored curve."""
    from prelu_robust.attacks import evaluate

    cfg, store, r = tiny_results
    data = mnist.load_data(cfg)
    for pi, p in enumerate(cfg.powers):
        run = mnist.MnistRun(cfg, float(p), 0)
        net, _ = mnist.trained_model(run, data, torch.device("cpu"), store, show_progress=False)
        x, y = data.x_test[:cfg.attack_points], data.y_test[:cfg.attack_points]
        result = evaluate(net, x, y, "Linf", cfg.eps_grid, seed=run.attack_seed, batch_size=cfg.attack_batch,
                          product_dtype=cfg.attack_product_dtype)
        assert np.array_equal(result.robust, r.robust_accuracy[pi, 0])
        assert result.clean == r.robust_accuracy[pi, 0, 0] and result.n_points == cfg.attack_points
        assert f"| Linf radius | 0 | {cfg.eps_grid[1]:g} |" in result.markdown()


@pytest.mark.parametrize("call, name", [
    (lambda net, x, y: (net, x, y.float()), "y"),
    (lambda net, x, y: (net, x[:5], y), "y"),
    (lambda net, x, y: (lambda z: z, x, y), "model"),
])
def test_evaluate_refuses_bad_input_before_attacking(call, name):
    from prelu_robust.attacks import evaluate

    net = PReLUNet(4, 3, 2.0, out_dim=3)
    x, y = torch.randn(8, 4), torch.zeros(8, dtype=torch.long)
    with pytest.raises(ParameterError, match=name):
        evaluate(*call(net, x, y))
    for kwargs, name in ((dict(norm="L3"), "norm"), (dict(eps=[0.1, -1.0]), "eps"), (dict(eps=[]), "eps"),
                         (dict(product_dtype="half"), "product_dtype")):
        with pytest.raises(ParameterError, match=name):
            evaluate(net, x, y, **kwargs)


def test_same_seed_same_numbers(tiny_results, tmp_path):
    cfg, store, r = tiny_results
    again = mnist.run(cfg, "ci", store=store, device="cpu", show_progress=False)
    assert again.cost.computed == 0
    fresh = mnist.run(cfg, "ci", store=ResultsStore(tmp_path), device="cpu", show_progress=False)
    assert np.array_equal(fresh.robust_accuracy, r.robust_accuracy)
    assert np.array_equal(fresh.test_accuracy, r.test_accuracy)


def test_table1_radii_within_a_norm_are_nested(tiny_results):
    cfg, _, _ = tiny_results
    data = mnist.load_data(cfg)
    net, _ = mnist.train_run(mnist.MnistRun(cfg, 1.0, 0), data, torch.device("cpu"), show_progress=False)
    x, y = data.x_test[:60], data.y_test[:60]
    table = mnist.table1_accuracy(net, x, y, seed=7, batch_size=1000)
    with torch.no_grad():
        clean = float((net(x).argmax(1) == y).double().mean())
    assert table.shape == (len(mnist.TABLE1),) and (table <= clean).all()
    for norm in ("Linf", "L2", "L1"):
        small, large = (table[i] for i, (n, _) in enumerate(mnist.TABLE1) if n == norm)
        assert large <= small
    assert table[1] < clean  # Linf 0.1 breaks some points of a three-epoch net
    again = mnist.table1_accuracy(net, x, y, seed=7, batch_size=1000)
    assert np.array_equal(table, again)


def test_shards_fill_the_store_for_one_run(tiny_results, tmp_path):
    cfg, _, r = tiny_results
    store = ResultsStore(tmp_path)
    costs = [mnist.compute_share(cfg, "ci", shard=(i, 2), store=store, device="cpu", show_progress=False)
             for i in range(2)]
    assert [c.computed for c in costs] == [1, 1]
    merged = mnist.run(cfg, "ci", store=store, device="cpu", show_progress=False)
    assert merged.cost.computed == 0 and np.array_equal(merged.robust_accuracy, r.robust_accuracy)
    with pytest.raises(ParameterError, match="shard"):
        mnist.compute_share(cfg, "ci", shard=(2, 2), store=store)


def test_changing_only_the_attack_reuses_the_trained_model(tiny_results):
    cfg, store, r = tiny_results
    models = sorted((store.root / mnist.MODEL_KIND).iterdir())
    other = dataclasses.replace(cfg, eps_grid=(0.0, 0.03), attack_points=50)
    again = mnist.run(other, "ci", store=store, device="cpu", show_progress=False)
    assert again.cost.computed == 2 and sorted((store.root / mnist.MODEL_KIND).iterdir()) == models
    assert np.array_equal(again.test_accuracy, r.test_accuracy)


def test_table1_draws_the_same_random_points_for_every_run():
    assert torch.equal(mnist.table1_points(50, None), torch.arange(50))
    assert torch.equal(mnist.table1_points(50, 80), torch.arange(50))
    pick = mnist.table1_points(10000, 1000)
    assert len(pick) == 1000 and len(set(pick.tolist())) == 1000 and (pick < 10000).all()
    assert int(pick.max()) > 5000  # a draw from the whole split, not its first images
    assert torch.equal(pick, mnist.table1_points(10000, 1000))


def test_a_bf16_success_that_float32_refutes_is_attacked_again_in_float32(monkeypatch):
    # Two logits 2^-10 apart at x = (1, 0): equal after rounding W to bf16 (8 significant
    # bits), where argmax then picks class 0; float32 says class 1, the label. No
    # perturbation within 1e-3 changes float32's verdict.
    net = PReLUNet(2, 2, p=1.0, out_dim=2)
    with torch.no_grad():
        net.W.copy_(torch.tensor([[1.0, 0.0], [1.0 + 2.0**-10, 0.0]]))
        net.v.copy_(torch.eye(2))
    net.requires_grad_(False)
    x, y = torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([1, 0])
    with products_in(net, torch.bfloat16):
        assert (net(x).argmax(1) == 0).all()
    assert net(x).argmax(1).tolist() == [1, 1]
    float32_calls = []
    attack = apgd.apgd_ce

    def recording(net, x, y, norm, eps, seed, batch_size, device, product_dtype=None):
        if product_dtype is None:
            float32_calls.append(y.tolist())
        return attack(net, x, y, norm, eps, seed, batch_size, device, product_dtype)

    monkeypatch.setattr(apgd, "apgd_ce", recording)
    kept = apgd.apgd_ce(net, x, y, "Linf", 1e-3, 0, 100, torch.device("cpu"), torch.bfloat16)
    assert kept.tolist() == [True, False]  # float32's verdicts, not bf16's [False, True]
    assert float32_calls == [[1]]  # only the refuted point is re-attacked
