"""Section 5.2.1 (parity) and Appendix B (ten classes) on real MNIST.

One *run* is a (p, repeat) pair: train a centred, input-normalised pReLU net
(784 -> 500 -> n_class) with Adam, logging loss, accuracies and the hidden
features' stable rank per epoch, then attack it with AutoAttack's APGD-CE at
every radius and for Table 1. Each run is one store entry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..attacks import evaluate
from ..paper import TABLE1
from ..data.mnist import N_CLASSES, SPLITS, ImageSplit, load_mnist
from ..device import compute_device
from ..metrics import correlation_image
from ..models import PReLUNet
from ..precision import AUTO, resolve_precision_fields
from ..probe import HISTORY, ProbeSpec, train_probe
from ..store import ResultsStore, default_store
from ..train import AdamConfig
from ..validation import require, require_choice, require_counts, require_powers
from .common import PowerRun, SweepCost, all_stored, build_config, derive_seed, grid, resolve_profile as _resolve, shard_of, sweep

__all__ = ["KIND", "MODEL_KIND", "TABLE1", "MnistConfig", "MnistRun", "PROFILES", "make_config", "resolve_profile",
           "load_data", "train_run", "trained_model", "table1_points", "table1_accuracy", "compute_run", "stored_runs", "compute_entry",
           "MnistResults", "is_complete", "compute_share", "run"]

KIND = "mnist-run"
#: Trained weights and training history, keyed by the training settings alone, so
#: changing only the attack reuses the model. Local cache (git-ignored: ~1.6 MB each).
MODEL_KIND = "mnist-model"
#: The config's product-precision settings ("auto" is resolved when a config is made).
PRECISION_FIELDS = ("product_dtype", "attack_product_dtype")
#: Settings that concern the attacks only.
ATTACK_SETTINGS = ("eps_grid", "attack_points", "table1", "table1_points", "attack_batch", "attack_product_dtype")

TABLE1_DRAW_SEED = 0


@dataclass(frozen=True)
class MnistConfig:
    """Every setting of the MNIST experiment (defaults: the paper's, ten classes)."""

    n_class: int = 10
    split: str = "paper"
    n_train: int | None = None  # None: the whole training split
    n_test: int | None = None
    powers: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0)
    width: int = 500
    lr: float = 1e-3
    batch_size: int = 1000
    epochs: int = 51
    repeats: int = 5
    eps_grid: tuple[float, ...] = grid(0.0, 0.2, 15)
    attack_points: int | None = None  # None: the whole test split
    table1: bool = True
    table1_points: int | None = None  # None: the same points as the robust-accuracy curve
    # APGD-CE on 500 points at a time: its (500, 784) arrays stay in cache
    attack_batch: int = 500
    correlation_points: int = 10000
    seed: int = 0
    # Precision of the first layer's product in training and inside APGD ("auto": bf16
    # where the hardware has bf16 dot products, else float32); every verdict is float32 (apgd_ce).
    product_dtype: str | None = AUTO
    attack_product_dtype: str | None = AUTO

    def __post_init__(self) -> None:
        require_choice("n_class", self.n_class, N_CLASSES)
        require_choice("split", self.split, SPLITS)
        require_powers(self.powers)
        require_counts(self, "width", "batch_size", "epochs", "repeats", "attack_batch", "correlation_points")
        for name in ("n_train", "n_test", "attack_points", "table1_points"):
            value = getattr(self, name)
            require(value is None or (isinstance(value, int) and value >= 1), name, value, "None or an integer >= 1")
        require(self.lr > 0, "lr", self.lr, "a number > 0")
        resolve_precision_fields(self, *PRECISION_FIELDS)
        require(len(self.eps_grid) >= 1 and all(0 <= e <= 1 for e in self.eps_grid), "eps_grid", self.eps_grid,
                "a non-empty list of Linf radii in [0, 1]")

    def runs(self) -> list["MnistRun"]:
        """Every run of the page, repeat by repeat: a partial sweep has whole repeats."""
        return [MnistRun(self, float(p), r) for r in range(self.repeats) for p in self.powers]


@dataclass(frozen=True)
class MnistRun(PowerRun):
    """One run of the page: train a net of exponent ``p`` (repeat ``repeat``), attack it."""

    config: MnistConfig
    repeat: int

    @property
    def run_seed(self) -> int:
        return derive_seed(self.config.seed, "mnist", self.repeat)

    @property
    def attack_seed(self) -> int:
        """The seed of the curve's first radius (radius i: ``attack_seed + i``)."""
        return derive_seed(self.run_seed, "attack") % (2**31)

    def settings(self) -> dict[str, Any]:
        """Exactly the settings that determine the run: its store key."""
        return {**self.config_settings("powers", "repeats", "correlation_points", "seed"), "run_seed": self.run_seed}

    def model_settings(self) -> dict[str, Any]:
        """The settings that determine the trained model: the key of the model cache."""
        return {k: v for k, v in self.settings().items() if k not in ATTACK_SETTINGS}


PROFILES: dict[str, MnistConfig] = {
    # Table 1 on a fixed random draw of 1,000 test points (see table1_points): its six
    # attacks (L1 with five restarts) on all 10,000 would cost more than the rest of the page.
    "paper": MnistConfig(table1_points=1000),
    "ci": MnistConfig(n_train=5000, n_test=1000, epochs=8, repeats=2, eps_grid=grid(0.0, 0.2, 6),
                      attack_points=200, table1_points=40, correlation_points=1000),
}


def make_config(profile: str = "ci", **overrides: Any) -> MnistConfig:
    return build_config(PROFILES, profile, overrides)


def load_data(config: MnistConfig, data_root: str | None = None) -> ImageSplit:
    data = load_mnist(config.split, config.n_class, data_root)
    n_train, n_test = config.n_train or len(data.y_train), config.n_test or len(data.y_test)
    return ImageSplit(data.x_train[:n_train], data.y_train[:n_train], data.x_test[:n_test], data.y_test[:n_test])


# -- one run --------------------------------------------------------------------
def train_run(run: MnistRun, data: ImageSplit, device: torch.device,
              show_progress: bool = True) -> tuple[PReLUNet, dict[str, np.ndarray]]:
    """Adam on cross-entropy from the reference initialisation; per-epoch statistics
    (:func:`~prelu_robust.probe.train_probe`, with an output bias)."""
    c = run.config
    adam = AdamConfig(lr=c.lr, batch_size=c.batch_size, epochs=c.epochs, seed=derive_seed(run.run_seed, "order"))
    spec = ProbeSpec(run.p, c.width, c.n_class, bias=True, adam=adam, product_dtype=c.product_dtype)
    return train_probe(data, spec, derive_seed(run.run_seed, "init"), device, show_progress)


def table1_points(n: int, m: int | None) -> torch.Tensor:
    """Indices (m,) of the attacked points Table 1 uses: all n, or m drawn once at
    random (the same for every run). Not the first m: the first test images are
    harder than average (p=1, Linf 0.1: 0.029 on the first 1,000, 0.040 on all)."""
    if m is None or m >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(TABLE1_DRAW_SEED))[:m].sort().values


def table1_accuracy(net, x, y, seed, batch_size, show_progress: bool = False,
                    product_dtype: str | None = None) -> np.ndarray:
    """Table 1's accuracies (6,), in the order of ``TABLE1``: per norm, the radii as
    one survivors-only curve (:func:`~prelu_robust.attacks.evaluate`)."""
    out = np.zeros(len(TABLE1))
    for k, norm in enumerate(dict.fromkeys(n for n, _ in TABLE1)):
        where = [i for i, (n, _) in enumerate(TABLE1) if n == norm]
        out[where] = evaluate(net, x, y, norm, [TABLE1[i][1] for i in where], seed=seed + 100 * (k + 1),
                              batch_size=batch_size, product_dtype=product_dtype, show_progress=show_progress).robust
    return out


def trained_model(run: MnistRun, data: ImageSplit, device: torch.device, store: ResultsStore,
                  show_progress: bool = True, force: bool = False) -> tuple[PReLUNet, dict[str, np.ndarray]]:
    """The trained net (frozen) and its history, from the model cache or trained
    now (``force``: retrain); the history includes ``train_seconds``."""
    def train() -> dict[str, np.ndarray]:
        start = time.perf_counter()
        net, history = train_run(run, data, device, show_progress)
        return {**{k: t.detach().cpu().numpy() for k, t in net.state_dict().items()}, **history,
                "train_seconds": np.asarray(time.perf_counter() - start)}

    arrays, _ = store.get_or_compute(MODEL_KIND, run.model_settings(), train, force=force)
    net = PReLUNet(data.x_train.shape[1], run.config.width, p=run.p, out_dim=run.config.n_class,
                   normalize_input=True, center=torch.as_tensor(arrays["center"]), bias=True)
    net.load_state_dict({k: torch.as_tensor(arrays[k]) for k in net.state_dict()})
    net = net.to(device).eval().requires_grad_(False)
    history = {k: arrays[k] for k in (*HISTORY, "train_seconds")}
    return net, history


def compute_run(run: MnistRun, data: ImageSplit, device: torch.device, store: ResultsStore,
                show_progress: bool = True, force: bool = False) -> dict[str, np.ndarray]:
    """Train (or load the cached model), then the Linf curve and Table 1."""
    c = run.config
    net, arrays = trained_model(run, data, device, store, show_progress, force)
    start = time.perf_counter()
    n_attack = c.attack_points or len(data.y_test)
    x, y = data.x_test[:n_attack].to(device), data.y_test[:n_attack].to(device)
    seed = run.attack_seed
    arrays["robust_accuracy"] = evaluate(net, x, y, "Linf", c.eps_grid, seed=seed, batch_size=c.attack_batch,
                                         product_dtype=c.attack_product_dtype, show_progress=show_progress).robust
    if c.table1:
        pick = table1_points(len(y), c.table1_points)
        arrays["table1"] = table1_accuracy(net, x[pick], y[pick], seed, c.attack_batch, show_progress,
                                           c.attack_product_dtype)
    arrays["attack_seconds"] = np.asarray(time.perf_counter() - start)
    return arrays


def stored_runs(config: MnistConfig) -> list[tuple[str, MnistRun]]:
    """Every store entry a page of ``config`` reads, as (kind, run): what a sweep computes."""
    return [(KIND, one) for one in config.runs()]


def compute_entry(kind: str, run: MnistRun, store: ResultsStore) -> dict[str, np.ndarray]:
    """One entry of :func:`stored_runs` on this machine's device, quietly: what a sweep's
    worker computes; the trained model is cached in ``store`` (on the worker's filesystem)."""
    return compute_run(run, load_data(run.config), compute_device("auto"), store, show_progress=False)


# -- the figure -----------------------------------------------------------------
@dataclass
class MnistResults:
    """P = len(powers), R = repeats, T = epochs, E = len(eps_grid).

    ``train_loss``, ``train_accuracy``, ``test_accuracy``, ``stable_rank``: (P, R, T);
    ``robust_accuracy``: (P, R, E); ``table1``: (P, R, 6) or None;
    ``train_seconds``, ``attack_seconds``: (P, R) wall seconds of each run's training
    and attacks when they were computed (``wall_s``/``cpu_s`` cover only what the
    sweep computed itself, so a run whose model came from the cache counts no training);
    ``correlation``: (m, m) cosine matrix of centred, normalised training digits
    sorted by digit, block-averaged to at most 500 x 500.
    """

    config: MnistConfig
    profile: str
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    stable_rank: np.ndarray
    robust_accuracy: np.ndarray
    table1: np.ndarray | None
    correlation: np.ndarray
    train_seconds: np.ndarray
    attack_seconds: np.ndarray
    cost: SweepCost = field(default_factory=SweepCost)  # what the runs cost, and where they were computed


def is_complete(config: MnistConfig, store: ResultsStore | None = None) -> bool:
    """Whether every run of ``config`` is stored."""
    return all_stored(store or default_store("paper"), KIND, config.runs())


def compute_share(config: MnistConfig, profile: str = "custom", *, shard: tuple[int, int] = (0, 1),
                  store: ResultsStore | None = None, device: str = "auto", data_root: str | None = None,
                  show_progress: bool = True) -> SweepCost:
    """Compute (or find stored) every ``shard[1]``-th run starting at ``shard[0]``:
    ``n`` processes with shards (0, n) ... (n-1, n) fill the store in parallel."""
    store, dev, data, cost = store or default_store(profile), compute_device(device), load_data(config, data_root), SweepCost()
    for _ in sweep(store, KIND, shard_of(config.runs(), shard), lambda r: compute_run(r, data, dev, store, show_progress),
                   cost, show_progress=show_progress):
        pass
    return cost


def run(config: MnistConfig, profile: str = "custom", *, store: ResultsStore | None = None, device: str = "auto",
        force: bool = False, data_root: str | None = None, show_progress: bool = True) -> MnistResults:
    """Load every run of ``config`` from the store, computing (and storing) the missing
    ones; ``force`` recomputes them all (retraining the models too)."""
    store = store or default_store(profile)
    dev = compute_device(device)
    data = load_data(config, data_root)
    P, R = len(config.powers), config.repeats
    fields = {k: [[None] * R for _ in range(P)] for k in
              ("train_loss", "train_accuracy", "test_accuracy", "stable_rank", "robust_accuracy", "table1",
               "train_seconds", "attack_seconds")}
    cost = SweepCost()
    for one, arrays in sweep(store, KIND, config.runs(), lambda r: compute_run(r, data, dev, store, show_progress, force),
                             cost, force=force, show_progress=show_progress):
        for k in fields:
            fields[k][one.power_index][one.repeat] = arrays.get(k)
    stacked = {k: np.asarray(v, dtype=float) for k, v in fields.items() if k != "table1"}
    table1 = np.asarray(fields["table1"], dtype=float) if config.table1 else None
    full = load_mnist(config.split, 10, data_root)  # digits for sorting the correlation panel
    m = min(config.correlation_points, len(data.y_train))
    correlation = correlation_image(data.x_train[:m], full.y_train[:m])
    return MnistResults(config, profile, table1=table1, correlation=correlation, cost=cost, **stacked)


def resolve_profile(profile: str, store: ResultsStore | None = None, **overrides: Any) -> tuple[str, MnistConfig]:
    """``auto`` picks ``paper`` when all its runs are stored, else ``ci``."""
    return _resolve(PROFILES, profile, lambda paper: is_complete(paper, store or default_store("paper")), overrides,
                    PRECISION_FIELDS)
