"""Section 5.2.2: a pReLU probe on a frozen ImageNet backbone's features.

The images (Caltech-256, or the offline stand-in of :mod:`prelu_robust.data.images`) go
through the backbone once (:mod:`prelu_robust.features`, cached); their superclass is the
fine label mod 10. One *run* is a (p, repeat) pair: train the probe (features -> width ->
10, centred at the mean training feature, inputs normalised, no output bias) with Adam
(:func:`~prelu_robust.probe.train_probe`, as MNIST), then attack it with AutoAttack's
APGD-CE in l-infinity in the feature space, at every radius. Each run is one store entry;
so is what the page draws of the features themselves (panel (a)'s correlation image, and
what extracting them cost), so that a page whose entries are all stored needs no images.

The attack works on the features mapped affinely into [0, 1] with a margin of
``box_margin`` feature units on each side, and the radius scaled the same way: no
radius below the margin meets the box, so the attack is the feature space's own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ..attacks import evaluate
from ..data.images import DATASETS, N_SUPERCLASSES, STANDIN_IMAGES, STANDIN_MAX_IMAGES, load_images, require_caltech256, train_test_split
from ..data.mnist import ImageSplit
from ..backbones import BACKBONES
from ..device import compute_device
from ..features import Features, extract
from ..metrics import correlation_image
from ..precision import AUTO, resolve_precision_fields
from ..probe import HISTORY, ProbeSpec, train_probe
from ..store import ResultsStore, default_store
from ..train import AdamConfig
from ..validation import require, require_choice, require_counts, require_powers
from .common import PowerRun, SweepCost, build_config, derive_seed, grid, resolve_profile as _resolve, sweep

__all__ = ["KIND", "FEATURES_KIND", "CaltechConfig", "CaltechRun", "PROFILES", "make_config", "check_inputs", "resolve_profile", "FeatureSplit",
           "load_features", "FeatureSummary", "summarize_features", "FeatureBox", "compute_run", "stored_runs", "compute_entry", "CaltechResults",
           "is_complete", "run"]

KIND = "caltech-run"
#: Panel (a)'s correlation image of the features and their extraction's cost, keyed by the
#: images, the backbone and the panel's size: small, committed with the runs.
FEATURES_KIND = "caltech-features"
#: The config's product-precision settings ("auto" is resolved when a config is made).
PRECISION_FIELDS = ("product_dtype",)


@dataclass(frozen=True)
class CaltechConfig:
    """Every setting of the Caltech-256 experiment (defaults: the paper's, on its data)."""

    dataset: str = "caltech256"
    backbone: str = "resnet152"
    n_images: int | None = None  # images drawn at random (None: all of Caltech-256; the stand-in's STANDIN_IMAGES)
    powers: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0)
    width: int = 2000
    lr: float = 1e-3
    batch_size: int = 1000
    epochs: int = 51
    repeats: int = 5
    eps_grid: tuple[float, ...] = grid(0.0, 0.1, 15)
    attack_points: int | None = None  # None: the whole test split
    attack_batch: int = 1000
    # the reference's margin of the attack's [0, 1] box around the features' range, in feature units
    box_margin: float = 5.0
    correlation_points: int = 3000
    seed: int = 0
    product_dtype: str | None = AUTO  # the first layer's product in training ("auto": bf16 where fast)

    def __post_init__(self) -> None:
        require_choice("dataset", self.dataset, DATASETS)
        require_choice("backbone", self.backbone, list(BACKBONES))
        require(self.n_images is None or (isinstance(self.n_images, int) and self.n_images >= 4 * N_SUPERCLASSES),
                "n_images", self.n_images, f"None or an integer >= {4 * N_SUPERCLASSES}")
        require_powers(self.powers)
        require_counts(self, "width", "batch_size", "epochs", "repeats", "attack_batch", "correlation_points")
        require(self.attack_points is None or (isinstance(self.attack_points, int) and self.attack_points >= 1),
                "attack_points", self.attack_points, "None or an integer >= 1")
        require(self.lr > 0, "lr", self.lr, "a number > 0")
        require(len(self.eps_grid) >= 1 and all(0 <= e < self.box_margin for e in self.eps_grid), "eps_grid",
                self.eps_grid, f"a non-empty list of Linf radii in [0, box_margin={self.box_margin:g})")
        resolve_precision_fields(self, *PRECISION_FIELDS)
        if self.dataset == "digits_garments":
            require(self.n_images is None or self.n_images <= STANDIN_MAX_IMAGES, "n_images", self.n_images,
                    f"None or at most {STANDIN_MAX_IMAGES} for the stand-in (MNIST's and Fashion-MNIST's training sets)")
            if self.n_images is None:  # the store key names the stand-in's size
                object.__setattr__(self, "n_images", STANDIN_IMAGES)

    def runs(self) -> list["CaltechRun"]:
        """Every run of the page, repeat by repeat: a partial sweep has whole repeats."""
        return [CaltechRun(self, float(p), r) for r in range(self.repeats) for p in self.powers]


@dataclass(frozen=True)
class CaltechRun(PowerRun):
    """One run: train a probe of exponent ``p`` (repeat ``repeat``) and attack it."""

    config: CaltechConfig
    repeat: int

    @property
    def run_seed(self) -> int:
        return derive_seed(self.config.seed, "caltech", self.repeat)

    def settings(self) -> dict[str, Any]:
        """Exactly the settings that determine the run: its store key."""
        return {**self.config_settings("powers", "repeats", "correlation_points", "seed"), "run_seed": self.run_seed}


PROFILES: dict[str, CaltechConfig] = {
    "paper": CaltechConfig(),
    # ci: a few hundred images and epochs; the stand-in's data by the page's parameters
    "ci": CaltechConfig(n_images=400, width=200, epochs=5, repeats=2, batch_size=100, eps_grid=grid(0.0, 0.1, 5),
                        attack_points=80, attack_batch=80, correlation_points=400),
}


def make_config(profile: str = "ci", **overrides: Any) -> CaltechConfig:
    return build_config(PROFILES, profile, overrides)


def check_inputs(values: Mapping[str, Any]) -> None:
    """Before a notebook's kernel starts (the driver calls it with the notebook's
    parameters): Caltech-256 is there when ``dataset`` names it, else
    :class:`~prelu_robust.data.mnist.DatasetMissingError` at once."""
    if values.get("dataset") == "caltech256":
        require_caltech256(values.get("data_root"))


@dataclass(frozen=True)
class FeatureSplit:
    """The features of the paper's split: ``data`` (features as inputs, superclasses as
    labels), the fine labels of the training part ``fine_train`` (n_train,), and the
    extraction's ``features`` record (cost, cache folder)."""

    data: ImageSplit
    fine_train: torch.Tensor
    features: Features
    description: str


def load_features(config: CaltechConfig, data_root: str | None = None, show_progress: bool = True) -> FeatureSplit:
    """The backbone's features of the config's images (extracted once, cached), split 0.8 /
    0.2 with generator seed 0 as the paper's ``random_split``."""
    images = load_images(config.dataset, config.n_images, data_root, seed=config.seed)
    features = extract(images, config.backbone, data_root, show_progress=show_progress)
    train, test = train_test_split(len(images.fine))
    label = images.superclass
    data = ImageSplit(features.x[train], label[train], features.x[test], label[test])
    return FeatureSplit(data, images.fine[train], features, images.description)


class FeatureBox(nn.Module):
    """``net`` on features given in the unit box: ``u`` (n, d) in [0, 1] maps to
    ``lo + u * scale``. :meth:`into` maps features into it."""

    def __init__(self, net: nn.Module, lo: float, scale: float) -> None:
        super().__init__()
        self.net, self.lo, self.scale = net, lo, scale

    @classmethod
    def around(cls, net: nn.Module, x: torch.Tensor, margin: float) -> "FeatureBox":
        """The box of the range of ``x``, widened by ``margin`` on each side."""
        lo, hi = float(x.min()) - margin, float(x.max()) + margin
        return cls(net, lo, hi - lo)

    def into(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.lo) / self.scale

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.net(self.lo + u * self.scale)


def compute_run(run: CaltechRun, split: FeatureSplit, device: torch.device,
                show_progress: bool = True) -> dict[str, np.ndarray]:
    """Train the probe, then its APGD-CE Linf curve in the feature space."""
    c = run.config
    adam = AdamConfig(lr=c.lr, batch_size=c.batch_size, epochs=c.epochs, seed=derive_seed(run.run_seed, "order"))
    spec = ProbeSpec(run.p, c.width, N_SUPERCLASSES, bias=False, adam=adam, product_dtype=c.product_dtype)
    start = time.perf_counter()
    net, arrays = train_probe(split.data, spec, derive_seed(run.run_seed, "init"), device, show_progress)
    arrays["train_seconds"] = np.asarray(time.perf_counter() - start)
    start = time.perf_counter()
    n_attack = c.attack_points or len(split.data.y_test)
    x, y = split.data.x_test[:n_attack].to(device), split.data.y_test[:n_attack].to(device)
    box = FeatureBox.around(net.requires_grad_(False), x, c.box_margin)
    seed = derive_seed(run.run_seed, "attack") % (2**31)
    arrays["robust_accuracy"] = evaluate(box, box.into(x), y, "Linf", [e / box.scale for e in c.eps_grid], seed=seed,
                                         batch_size=c.attack_batch, show_progress=show_progress).robust
    arrays["attack_seconds"] = np.asarray(time.perf_counter() - start)
    return arrays


@dataclass(frozen=True)
class FeatureSummary:
    """The entry of what the page draws of the features of ``config``'s images."""

    config: CaltechConfig

    def settings(self) -> dict[str, Any]:
        """The settings that determine the images, their features and panel (a)."""
        c = self.config
        return {"dataset": c.dataset, "backbone": c.backbone, "n_images": c.n_images, "seed": c.seed,
                "correlation_points": c.correlation_points}


def summarize_features(config: CaltechConfig, split: FeatureSplit) -> dict[str, np.ndarray]:
    """``correlation``: (m, m) cosines of the first m = ``correlation_points`` centred
    training features, sorted by superclass then fine label (block-averaged, float16);
    ``images``: what the features are of; ``features_cpu_s``: the extraction's CPU seconds."""
    m = min(config.correlation_points, len(split.fine_train))
    order_key = split.data.y_train[:m] * 1000 + split.fine_train[:m]
    return {"correlation": correlation_image(split.data.x_train[:m], order_key),
            "images": np.asarray(split.description), "features_cpu_s": np.asarray(split.features.cpu_s)}


def stored_runs(config: CaltechConfig) -> list[tuple[str, CaltechRun | FeatureSummary]]:
    """Every store entry a page of ``config`` reads, as (kind, run): what a sweep computes."""
    return [(FEATURES_KIND, FeatureSummary(config))] + [(KIND, one) for one in config.runs()]


def compute_entry(kind: str, run: CaltechRun | FeatureSummary, store: ResultsStore | None = None) -> dict[str, np.ndarray]:
    """One entry of :func:`stored_runs`, quietly: what a sweep's worker computes (the
    features come from the worker's cache, extracted there when missing)."""
    split = load_features(run.config, show_progress=False)
    if kind == FEATURES_KIND:
        return summarize_features(run.config, split)
    return compute_run(run, split, compute_device("auto"), False)


@dataclass
class CaltechResults:
    """P = len(powers), R = repeats, T = epochs, E = len(eps_grid).

    ``train_loss``, ``train_accuracy``, ``test_accuracy``, ``stable_rank``: (P, R, T);
    ``robust_accuracy``: (P, R, E); ``train_seconds``, ``attack_seconds``: (P, R);
    ``correlation``: (m, m) cosines of centred training features sorted by superclass
    (fine label within it); ``images``: what the features are of; ``features_cpu_s``: the
    one-time extraction's CPU seconds (as its cache recorded them).
    """

    config: CaltechConfig
    profile: str
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    stable_rank: np.ndarray
    robust_accuracy: np.ndarray
    train_seconds: np.ndarray
    attack_seconds: np.ndarray
    correlation: np.ndarray
    images: str
    features_cpu_s: float
    cost: SweepCost = field(default_factory=SweepCost)


def is_complete(config: CaltechConfig, store: ResultsStore | None = None) -> bool:
    """Whether every entry a page of ``config`` reads is stored."""
    store = store or default_store("paper")
    return all(store.has(kind, one.settings()) for kind, one in stored_runs(config))


def run(config: CaltechConfig, profile: str = "custom", *, store: ResultsStore | None = None, device: str = "auto",
        force: bool = False, data_root: str | None = None, show_progress: bool = True) -> CaltechResults:
    """Load every entry of ``config`` from the store, computing (and storing) the missing
    ones (``force``: all). The features are extracted (or loaded from their cache) only
    when an entry is computed: a page whose entries are stored needs no images."""
    store = store or default_store(profile)
    dev = compute_device(device)
    features: list[FeatureSplit] = []

    def split() -> FeatureSplit:
        if not features:
            features.append(load_features(config, data_root, show_progress))
        return features[0]

    summary, _ = store.get_or_compute(FEATURES_KIND, FeatureSummary(config).settings(),
                                      lambda: summarize_features(config, split()), force=force)
    P, R = len(config.powers), config.repeats
    fields = {k: [[None] * R for _ in range(P)] for k in (*HISTORY, "robust_accuracy", "train_seconds", "attack_seconds")}
    cost = SweepCost()
    for one, arrays in sweep(store, KIND, config.runs(), lambda r: compute_run(r, split(), dev, show_progress), cost,
                             force=force, show_progress=show_progress):
        for k in fields:
            fields[k][one.power_index][one.repeat] = arrays[k]
    stacked = {k: np.asarray(v, dtype=float) for k, v in fields.items()}
    return CaltechResults(config, profile, correlation=summary["correlation"], images=str(summary["images"]),
                          features_cpu_s=float(summary["features_cpu_s"]), cost=cost, **stacked)


def resolve_profile(profile: str, store: ResultsStore | None = None, **overrides: Any) -> tuple[str, CaltechConfig]:
    """``auto`` picks ``paper`` when all its runs are stored, else ``ci``."""
    return _resolve(PROFILES, profile, lambda paper: is_complete(paper, store or default_store("paper")), overrides,
                    PRECISION_FIELDS)
