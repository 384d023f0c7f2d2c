"""Section 5.1: small-init SGD on an orthonormal Gaussian mixture.

One *run* is a (p, alpha, repeat) triple: draw fresh train/test sets, train a
pReLU net from a tiny initialisation, measure its neurons and its distance to
the ideal classifier and, at the first alpha, its robust accuracy. Each run is
its own store entry, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..attacks import VARIANTS, Centres, L2Attack, ZeroStartRuns, as_written, exact, robust_accuracy_curve, strong
from .. import neurons
from ..data.gmm import MixtureSpec, sample_mixture
from ..device import compute_device
from ..engine import CHUNK, STEERINGS, SpanEngine
from ..metrics import cosine_matrix
from ..models import PReLUNet, ideal_net
from ..spaces import NeuronSpan
from ..precision import AUTO, resolve_precision_fields
from ..store import ResultsStore, default_store
from ..train import LOSSES, SCHEDULES, SGDConfig, train_sgd
from ..validation import require, require_choice, require_counts, require_powers
from .common import PowerRun, SweepCost, all_stored, build_config, derive_seed, grid, resolve_profile as _resolve, shard_of, sweep

__all__ = ["KIND", "SyntheticConfig", "SyntheticRun", "PROFILES", "make_config", "resolve_profile", "TrainedRun",
           "run_data", "train_run", "compute_run", "stored_runs", "summary_columns", "compute_entry",
           "VARIANTS_KIND", "VARIANT_RESTARTS", "VariantsRun", "variant_runs", "centres_of", "compute_variants",
           "VariantCurves", "variants", "SyntheticResults", "is_complete", "compute_share", "run", "stored_costs"]

KIND = "synthetic-run"
#: The config's product-precision settings ("auto" is resolved when a config is made).
PRECISION_FIELDS = ("product_dtype",)


@dataclass(frozen=True)
class SyntheticConfig:
    """Every setting of the Section 5.1 experiment (defaults: the paper's)."""

    # data
    dim: int = 1000
    n_clusters: int = 10
    n_positive: int = 6
    n_train: int = 20000
    n_test: int = 20000
    balanced: bool = False
    alphas: tuple[float, ...] = grid(0.01, 0.3, 15)
    # model and training
    powers: tuple[float, ...] = (1.0, 3.0)
    width: int = 2000
    init_scale: float = 1e-7
    loss: str = "exp"
    lr: float = 0.2
    batch_size: int = 100
    epochs: int = 401
    repeats: int = 5
    # the engine (see train.SGDConfig): same gradient-flow time, late phase in few epochs,
    # training products in this machine's faster precision ("auto": bf16 where the CPU or
    # GPU has bf16 dot products, the rest of the step then in prelu_robust.kernels' fused loops);
    # prune_tol also splits the neurons of the verdicts and distances (SignExactSpan)
    schedule: str = "loss_adaptive"
    prune_tol: float | None = 1e-6
    product_dtype: str | None = AUTO
    # what steers the attacks and Algorithm 1 (engine.STEERINGS): "exact", every neuron above
    # prune_tol; "merged", the neurons carrying >= surrogate_tol of the largest contribution,
    # merged when their cosine exceeds 1 - surrogate_tol (cheaper for p=1, but not the net's
    # gradient); every verdict has the full net's exact sign either way
    steering: str = "exact"
    surrogate_tol: float = 1e-3
    # robust accuracy (models of the first alpha)
    eps_grid: tuple[float, ...] = grid(0.0, 1.5, 15)
    attack_points: int = 20000
    attack_steps: int = 2000
    attack_step_size: float = 0.1
    strong_restarts: int = 2
    # Algorithm 1
    dist_batches: int = 10
    dist_batch_size: int = 1000
    dist_steps: int = 2000
    dist_step_size: float = 0.01
    # what the cosine maps keep
    top_neurons: int = 300
    seed: int = 0

    def __post_init__(self) -> None:
        self.mixture(0.0)  # validates dim, n_clusters, n_positive
        require(len(self.alphas) >= 1 and all(a >= 0 for a in self.alphas), "alphas", self.alphas,
                "a non-empty list of noise levels >= 0")
        require_powers(self.powers)
        require_counts(self, "n_train", "n_test", "width", "epochs", "repeats", "batch_size", "attack_points",
                       "attack_steps", "strong_restarts", "dist_batches", "dist_batch_size", "top_neurons")
        require(self.attack_points <= self.n_test, "attack_points", self.attack_points,
                f"at most n_test={self.n_test}")
        require(self.dist_steps >= 0, "dist_steps", self.dist_steps, "an integer >= 0")
        for name in ("init_scale", "lr", "attack_step_size", "dist_step_size"):
            require(getattr(self, name) > 0, name, getattr(self, name), "a number > 0")
        require_choice("loss", self.loss, LOSSES)
        require_choice("schedule", self.schedule, SCHEDULES)
        resolve_precision_fields(self, *PRECISION_FIELDS)
        require_choice("steering", self.steering, STEERINGS)
        require(0 < self.surrogate_tol < 1, "surrogate_tol", self.surrogate_tol, "a number in (0, 1)")
        require(len(self.eps_grid) >= 1 and all(e >= 0 for e in self.eps_grid), "eps_grid",
                self.eps_grid, "a non-empty list of radii >= 0")

    def mixture(self, alpha: float) -> MixtureSpec:
        return MixtureSpec(self.dim, self.n_clusters, self.n_positive, alpha)

    def runs(self) -> list["SyntheticRun"]:
        """Every run of the figure: p by p, alpha by alpha, repeat by repeat."""
        return [SyntheticRun(self, float(p), ai, r) for p in self.powers for ai in range(len(self.alphas))
                for r in range(self.repeats)]


@dataclass(frozen=True)
class SyntheticRun(PowerRun):
    """One run of the figure: train at noise level ``alphas[alpha_index]``, repeat
    ``repeat``, exponent ``p``; the models of the first alpha are attacked."""

    config: SyntheticConfig
    alpha_index: int
    repeat: int

    @property
    def alpha(self) -> float:
        return self.config.alphas[self.alpha_index]

    @property
    def attacked(self) -> bool:
        return self.alpha_index == 0

    @property
    def attack_ideal(self) -> bool:
        """The ideal classifier's curve is drawn once: with repeat 0's attacked run."""
        return self.attacked and self.repeat == 0

    @property
    def data_seed(self) -> int:
        return derive_seed(self.config.seed, "data", self.alpha_index, self.repeat)

    def settings(self) -> dict[str, Any]:
        """Exactly the settings that determine the run: its store key."""
        settings = self.config_settings("alphas", "powers", "repeats", "seed")
        if not self.attacked:
            for name in ("eps_grid", "attack_points", "attack_steps", "attack_step_size", "strong_restarts"):
                settings.pop(name)
        if settings["steering"] == MERGED:
            settings.pop("steering")  # the keys of the entries stored before the choice existed
        settings.update(alpha=self.alpha, attacked=self.attacked, attack_ideal=self.attack_ideal,
                        data_seed=self.data_seed)
        return settings


#: The steering of the paper store's first entries, computed before the exact steering
#: existed: a page reads them where the paper's runs are not stored with exact steering.
MERGED = "merged"
STORED_ALTERNATIVES = {"steering": (MERGED,)}

PROFILES: dict[str, SyntheticConfig] = {
    "paper": SyntheticConfig(),
    # ci: a gradient-flow time (epochs x batches x lr = 4000) long enough for larger D, K or
    # smaller alphas to leave the alignment phase; the loss-adaptive schedule covers whatever
    # is left after the net fits in a few epochs, so a net costs about its alignment phase
    # (training_check flags a net that did not fit)
    "ci": SyntheticConfig(
        dim=100, n_train=2000, n_test=1000, width=200, init_scale=1e-6, epochs=1000,
        alphas=grid(0.01, 0.3, 4), repeats=2, attack_points=500, attack_steps=200,
        dist_batches=2, dist_batch_size=200, dist_steps=200, top_neurons=100),
    # sweep: the shipped sweeps (sweeps/*.yaml, committed in results/sweep/): the ci data and
    # net, one noise level, three repeats and the paper's attacks (2000 steps of 0.1); float32
    # products, so that every CPU reads (and recomputes) the same entries
    "sweep": SyntheticConfig(
        dim=100, n_train=2000, n_test=1000, width=200, init_scale=1e-6, epochs=1000,
        alphas=(0.01,), repeats=3, attack_points=500, dist_batches=2, dist_batch_size=200, dist_steps=200,
        top_neurons=100, product_dtype="float32"),
}


def make_config(profile: str = "ci", **overrides: Any) -> SyntheticConfig:
    """The named profile with ``overrides`` (None means: keep the profile's value)."""
    return build_config(PROFILES, profile, overrides)


# -- one run ------------------------------------------------------------------
@dataclass(frozen=True)
class TrainedRun:
    """A run's data and trained net: the mixture, train and test sets (on the device) and the log."""

    spec: MixtureSpec
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    net: PReLUNet
    log: Any


def run_data(run: SyntheticRun) -> tuple[MixtureSpec, Any, Any]:
    """The run's mixture and its fresh train and test draws."""
    c, seed = run.config, run.data_seed
    spec = c.mixture(run.alpha)
    train = sample_mixture(spec, c.n_train, seed=derive_seed(seed, "train"), balanced=c.balanced)
    test = sample_mixture(spec, c.n_test, seed=derive_seed(seed, "test"), balanced=c.balanced)
    return spec, train, test


def train_run(run: SyntheticRun, device: torch.device, show_progress: bool = True) -> TrainedRun:
    """Draw the run's data and train its net from the small initialisation."""
    c, seed = run.config, run.data_seed
    spec, train, test = run_data(run)
    x_train, y_train = train.x.to(device), train.y.to(device)
    x_test, y_test = test.x.to(device), test.y.to(device)
    net = PReLUNet(c.dim, c.width, p=run.p).init_small(
        c.init_scale, torch.Generator().manual_seed(derive_seed(seed, "init"))).to(device)
    sgd = SGDConfig(lr=c.lr, batch_size=c.batch_size, epochs=c.epochs, loss=c.loss, schedule=c.schedule,
                    prune_tol=c.prune_tol, product_dtype=c.product_dtype, seed=derive_seed(seed, "order"))
    log = train_sgd(net, x_train, y_train, sgd, show_progress=show_progress)
    return TrainedRun(spec, x_train, y_train, x_test, y_test, net, log)


def compute_run(run: SyntheticRun, device: torch.device, show_progress: bool = True) -> dict[str, np.ndarray]:
    """Train and measure one run (see :class:`SyntheticRun`)."""
    c, seed = run.config, run.data_seed
    trained = train_run(run, device, show_progress)
    spec, net, log = trained.spec, trained.net, trained.log
    x_train, x_test, y_test = trained.x_train, trained.x_test, trained.y_test

    W, v = net.W.detach(), net.v.detach()[0]
    contributions = neurons.contributions(W, v)
    order = torch.argsort(contributions, descending=True)
    cosines = cosine_matrix(W[order[: c.top_neurons]], spec.reference_directions().to(device))

    ideal = ideal_net(spec, run.p).to(device)  # F or F^(p), with its closed-form gradient
    engine = SpanEngine.build(net, surrogate_tol=c.surrogate_tol, prune_tol=c.prune_tol or 0.0,
                              extra=spec.centers().to(device), steering=c.steering)
    ideal_space = engine.space_of(ideal)
    test_accuracy = float((y_test * engine.scores(x_test) > 0).double().mean())
    distance = engine.distance_to(ideal, x_train, n_batches=c.dist_batches, batch_size=c.dist_batch_size,
                                  steps=c.dist_steps, step_size=c.dist_step_size, seed=derive_seed(seed, "sphere"),
                                  ideal_space=ideal_space)
    arrays = {
        "contributions": contributions[order].cpu().numpy().astype(np.float32),
        "cosines": cosines.cpu().numpy().astype(np.float32),
        "log_loss": np.asarray(log.log_loss), "train_error": np.asarray(log.train_error),
        "test_accuracy": np.asarray(test_accuracy), "steps": np.asarray(log.steps),
        "flow_time": np.asarray(log.flow_time), "active_neurons": np.asarray(log.active_neurons),
        "pruned_share": np.asarray(log.pruned_share), "surrogate_neurons": np.asarray(engine.surrogate.width),
        "basis_rank": np.asarray(engine.basis.vectors.shape[1]), "basis_residual": np.asarray(engine.basis.residual),
        "distance": np.asarray(distance.sup), "distance_per_batch": np.asarray(distance.per_batch),
        "distance_scale": np.asarray(distance.scale),
        "distance_rest_bound": np.asarray(distance.scale * engine.distance_rest_bound),
    }
    if run.attacked:
        x_att, y_att = x_test[: c.attack_points], y_test[: c.attack_points]
        steps = dict(steps=c.attack_steps, step_size=c.attack_step_size)
        # the reference run from the clean point is also the strong attack's first restart: done once;
        # strong first, so that only its survivors track their best iterate (ZeroStartRuns)
        shared = ZeroStartRuns(len(y_att))
        arrays["robust_strong"] = engine.robust_accuracy_curve(
            x_att, y_att, c.eps_grid, L2Attack(**steps, restarts=c.strong_restarts, keep_best=True),
            seed=derive_seed(seed, "strong"), carry_broken=True, zero_start=shared).numpy()
        arrays["robust_reference"] = engine.robust_accuracy_curve(
            x_att, y_att, c.eps_grid, L2Attack(**steps), seed=derive_seed(seed, "reference"),
            zero_start=shared).numpy()
        if run.attack_ideal:
            centres = NeuronSpan(ideal, spec.centers().T.to(device))  # grad F is in span(mu_k)
            arrays["robust_ideal"] = robust_accuracy_curve(
                ideal, x_att, y_att, c.eps_grid, L2Attack(**steps), seed=derive_seed(seed, "ideal"),
                space=centres, chunk_size=CHUNK).numpy()
    return arrays


# -- the attack variants on the attacked models -------------------------------
VARIANTS_KIND = "synthetic-variants"

#: Restarts of the strong variant: the clean point, the straight line toward an
#: opposite-class centre, one random point of the ball.
VARIANT_RESTARTS = 3


@dataclass(frozen=True)
class VariantsRun:
    """The three attack variants (:data:`~prelu_robust.attacks.VARIANTS`) and Algorithm 1
    as written on one attacked model (``run``, at the first alpha): its own store entry,
    beside the run's, so that the figure's entries stay as they are."""

    run: SyntheticRun

    def settings(self) -> dict[str, Any]:
        return {**self.run.settings(), "variants": tuple(VARIANTS), "variant_restarts": VARIANT_RESTARTS,
                "loss_batch": self.run.config.attack_points}


def variant_runs(config: SyntheticConfig) -> list[VariantsRun]:
    return [VariantsRun(one) for one in config.runs() if one.attacked]


def centres_of(spec: MixtureSpec) -> Centres:
    """The cluster centres and their labels (the first K1 are +1)."""
    labels = torch.tensor([1.0] * spec.n_positive + [-1.0] * (spec.n_clusters - spec.n_positive))
    return Centres(spec.centers(), labels)


def compute_variants(one: VariantsRun, device: torch.device, show_progress: bool = True) -> dict[str, np.ndarray]:
    """Retrain the run's model (the same seeds give the same net) and attack it with each
    variant; the ideal classifier too with repeat 0. Arrays ``robust_<variant>`` (E,),
    ``ideal_<variant>`` (E,) and ``distance_as_written``."""
    c, run = one.run.config, one.run
    trained = train_run(run, device, show_progress)
    spec = trained.spec
    x, y = trained.x_test[: c.attack_points], trained.y_test[: c.attack_points]
    engine = SpanEngine.build(trained.net, surrogate_tol=c.surrogate_tol, prune_tol=c.prune_tol or 0.0,
                              extra=spec.centers().to(device), steering=c.steering)
    centres = centres_of(spec)
    attacks = {"as_written": as_written(c.attack_steps, c.attack_step_size, loss_batch=c.attack_points),
               "exact": exact(c.attack_steps, c.attack_step_size),
               "strong": strong(c.attack_steps, c.attack_step_size, restarts=VARIANT_RESTARTS)}
    seed = derive_seed(run.data_seed, "variants")
    arrays: dict[str, np.ndarray] = {}
    ideal = ideal_net(spec, run.p).to(device)
    ideal_space = NeuronSpan(ideal, spec.centers().T.to(device))  # grad F is in span(mu_k)
    for name, attack in attacks.items():
        arrays[f"robust_{name}"] = engine.robust_accuracy_curve(
            x, y, c.eps_grid, attack, seed=seed, carry_broken=attack.keep_best, centres=centres).numpy()
        if run.attack_ideal:
            arrays[f"ideal_{name}"] = robust_accuracy_curve(
                ideal, x, y, c.eps_grid, attack, seed=seed, space=ideal_space, chunk_size=CHUNK,
                carry_broken=attack.keep_best, centres=centres).numpy()
    written = engine.distance_to(ideal, trained.x_train, n_batches=c.dist_batches, batch_size=c.dist_batch_size,
                                 steps=c.dist_steps, step_size=c.dist_step_size, seed=derive_seed(run.data_seed, "sphere"),
                                 written=True)
    arrays["distance_as_written"] = np.asarray(written.sup)
    return arrays


@dataclass
class VariantCurves:
    """The variants' curves of the attacked models: ``robust[name]`` (P, R, E) and
    ``ideal[name]`` (P, E) for each name of :data:`~prelu_robust.attacks.VARIANTS`;
    ``distance_as_written`` (P, R)."""

    robust: dict[str, np.ndarray]
    ideal: dict[str, np.ndarray]
    distance_as_written: np.ndarray
    cost: SweepCost


def stored_runs(config: SyntheticConfig) -> list[tuple[str, SyntheticRun | VariantsRun]]:
    """Every store entry a page of ``config`` reads, as (kind, run): what a sweep computes."""
    return [(KIND, one) for one in config.runs()] + [(VARIANTS_KIND, one) for one in variant_runs(config)]


def summary_columns(kind: str, arrays: dict[str, np.ndarray], config: SyntheticConfig) -> dict[str, float]:
    """Scalars a sweep's table derives from an entry's arrays: for a run, its final training
    error and loss, how its dominant
    neurons (at least ``surrogate_tol`` of the largest contribution, among the stored
    ``top_neurons``) are aligned (:func:`~prelu_robust.neurons.alignment_scores`) and the
    share of the K centres they cover (:func:`~prelu_robust.neurons.covered_centres`)."""
    if kind != KIND:
        return {}
    cosines = arrays["cosines"]
    weights = arrays["contributions"][: len(cosines)]  # sorted, as the cosines' rows
    rows = neurons.dominant_mask(torch.as_tensor(weights), config.surrogate_tol).numpy()
    centres, averages = neurons.alignment_scores(cosines[rows], weights[rows])
    return {"final_train_error": float(arrays["train_error"][-1]), "final_loss": math.exp(arrays["log_loss"][-1]),
            "dominant_neurons": float(rows.sum()), "alignment_centres": centres, "alignment_averages": averages,
            "centres_covered": float(neurons.covered_centres(cosines[rows]).mean())}


def compute_entry(kind: str, one: SyntheticRun | VariantsRun, store: ResultsStore | None = None) -> dict[str, np.ndarray]:
    """One entry of :func:`stored_runs` on this machine's device, quietly: what a sweep's
    worker computes (``store``: unused, these runs cache nothing)."""
    device = compute_device("auto")
    return compute_run(one, device, show_progress=False) if kind == KIND else \
        compute_variants(one, device, show_progress=False)


def variants(config: SyntheticConfig, store: ResultsStore, *, compute: bool = False, device: str = "auto",
             show_progress: bool = True) -> VariantCurves | None:
    """The variants' curves from the store (None when some are missing and ``compute`` is off)."""
    runs = variant_runs(config)
    if not compute and not all_stored(store, VARIANTS_KIND, runs):
        return None
    dev = compute_device(device)
    P, R, E = len(config.powers), config.repeats, len(config.eps_grid)
    robust = {name: np.zeros((P, R, E)) for name in VARIANTS}
    ideal = {name: np.zeros((P, E)) for name in VARIANTS}
    written, cost = np.zeros((P, R)), SweepCost()
    for one, arrays in sweep(store, VARIANTS_KIND, runs, lambda r: compute_variants(r, dev, show_progress), cost,
                             show_progress=show_progress):
        pi, r = one.run.power_index, one.run.repeat
        written[pi, r] = arrays["distance_as_written"]
        for name in VARIANTS:
            robust[name][pi, r] = arrays[f"robust_{name}"]
            if one.run.attack_ideal:
                ideal[name][pi] = arrays[f"ideal_{name}"]
    return VariantCurves(robust, ideal, written, cost)


# -- the whole figure ---------------------------------------------------------
@dataclass
class SyntheticResults:
    """Everything the §5.1 figure draws. P = len(powers), A = len(alphas),
    R = repeats, E = len(eps_grid), h = width, T = top_neurons, K = n_clusters.

    - ``distance``, ``test_accuracy``, ``final_loss``, ``train_error``: (P, A, R), the
      last two at the end of training
    - ``contributions``: (P, h), sorted, for (alphas[0], repeat 0)
    - ``cosines``: (P, T, K+2) for the same models, columns mu_+, mu_-, mu_1..mu_K
    - ``robust_reference``, ``robust_strong``: (P, R, E); ``robust_ideal``: (P, E)
    """

    config: SyntheticConfig
    profile: str
    distance: np.ndarray
    test_accuracy: np.ndarray
    final_loss: np.ndarray
    train_error: np.ndarray
    contributions: np.ndarray
    cosines: np.ndarray
    robust_reference: np.ndarray
    robust_strong: np.ndarray
    robust_ideal: np.ndarray
    cost: SweepCost = field(default_factory=SweepCost)  # what the runs cost, and where they were computed


def is_complete(config: SyntheticConfig, store: ResultsStore | None = None) -> bool:
    """Whether every run of ``config`` is stored."""
    return all_stored(store or default_store("paper"), KIND, config.runs())


def compute_share(config: SyntheticConfig, profile: str = "custom", *, shard: tuple[int, int] = (0, 1),
                  store: ResultsStore | None = None, device: str = "auto", show_progress: bool = True) -> SweepCost:
    """Compute (or find stored) the runs of ``shard`` (see :func:`~.common.shard_of`):
    ``n`` processes, one per core, fill the store in parallel; :func:`run` then loads.
    The attacked runs (first alpha) come first: a partial sweep has panels (b)-(e)."""
    store, dev, cost = store or default_store(profile), compute_device(device), SweepCost()
    runs = sorted(config.runs(), key=lambda r: r.alpha_index > 0)  # stable: attacked runs first
    for _ in sweep(store, KIND, shard_of(runs, shard), lambda r: compute_run(r, dev, show_progress), cost,
                   show_progress=show_progress):
        pass
    return cost


def run(config: SyntheticConfig, profile: str = "custom", *, store: ResultsStore | None = None,
        device: str = "auto", force: bool = False, show_progress: bool = True) -> SyntheticResults:
    """Load every run of ``config`` from the store, computing (and storing) the
    missing ones; ``force`` recomputes them all."""
    store = store or default_store(profile)
    dev = compute_device(device)
    P, A, R, E = len(config.powers), len(config.alphas), config.repeats, len(config.eps_grid)
    shape = (P, A, R)
    distance, accuracy, loss, train_error = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    contributions = np.zeros((P, config.width), np.float32)
    cosines = np.zeros((P, min(config.top_neurons, config.width), config.n_clusters + 2), np.float32)
    robust_ref, robust_strong, robust_ideal = np.zeros((P, R, E)), np.zeros((P, R, E)), np.zeros((P, E))
    cost = SweepCost()
    for one, arrays in sweep(store, KIND, config.runs(), lambda r: compute_run(r, dev, show_progress), cost,
                             force=force, show_progress=show_progress):
        pi, ai, r = one.power_index, one.alpha_index, one.repeat
        distance[pi, ai, r] = arrays["distance"]
        accuracy[pi, ai, r] = arrays["test_accuracy"]
        loss[pi, ai, r] = math.exp(arrays["log_loss"][-1])
        train_error[pi, ai, r] = arrays["train_error"][-1]
        if one.attacked:
            robust_ref[pi, r], robust_strong[pi, r] = arrays["robust_reference"], arrays["robust_strong"]
            if one.attack_ideal:
                contributions[pi], cosines[pi] = arrays["contributions"], arrays["cosines"]
                robust_ideal[pi] = arrays["robust_ideal"]
    return SyntheticResults(config, profile, distance, accuracy, loss, train_error, contributions, cosines, robust_ref,
                            robust_strong, robust_ideal, cost)


def stored_costs(config: SyntheticConfig, store: ResultsStore | None = None) -> dict[tuple[float, bool], list[float]]:
    """CPU seconds of each stored run of ``config``, grouped by (p, attacked): what
    computing the figure from scratch costs, as the store entries recorded it."""
    store = store or default_store("paper")
    costs: dict[tuple[float, bool], list[float]] = {}
    for one in config.runs():
        if store.has(KIND, one.settings()):
            costs.setdefault((one.p, one.attacked), []).append(float(store.meta(KIND, one.settings())["cpu_s"]))
    return costs


def resolve_profile(profile: str, store: ResultsStore | None = None, **overrides: Any) -> tuple[str, SyntheticConfig]:
    """``auto`` picks ``paper`` when all its runs are stored, else ``ci``."""
    return _resolve(PROFILES, profile, lambda paper: is_complete(paper, store or default_store("paper")), overrides,
                    PRECISION_FIELDS, STORED_ALTERNATIVES)
