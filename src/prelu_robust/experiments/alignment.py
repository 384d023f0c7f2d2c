"""The neuron-alignment figure: small-init GD in R^3 on two positive clusters
and one negative cluster, p=1 versus p=3.

During the alignment phase the net output is ~0, so each neuron's direction
follows ``P_perp(w) sign(v) grad G(w)`` with ``G(w) = mean_i y_i relu(<x_i, w>)^p``
on the unit sphere. Its attracting directions (the *extremal vectors*) are the
local maxima of ``G`` (neurons with v > 0) and of ``-G`` (v < 0) where the
maximum is positive; we find them by projected ascent from many starts and
check that they are where the trained neurons went.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import neurons
from ..data.gmm import MixtureSpec, sample_mixture
from ..device import num_threads
from ..models import PReLUNet
from ..store import ResultsStore, default_store
from ..train import SGDConfig, train_sgd
from ..validation import require, require_counts, require_powers
from .common import SweepCost, all_stored, build_config, derive_seed, resolve_profile as _resolve, sweep

__all__ = ["KIND", "AlignmentConfig", "AlignmentRun", "PROFILES", "make_config", "alignment_objective",
           "extremal_vectors", "compute_run", "stored_runs", "compute_entry", "AlignmentTrajectory", "AlignmentResults", "is_complete",
           "resolve_profile", "run"]

KIND = "alignment"


@dataclass(frozen=True)
class AlignmentConfig:
    """Settings of the toy: ``n_clusters`` orthonormal centres in R^dim, the first
    ``n_positive`` labelled +1; full-batch GD (``steps`` of size ``lr``) from
    ``N(0, init_scale^2)`` weights; ``n_snapshots`` log-spaced snapshots."""

    dim: int = 3
    n_clusters: int = 3
    n_positive: int = 2
    alpha: float = 0.15
    n: int = 300
    width: int = 60
    init_scale: float = 1e-9
    lr: float = 0.1
    steps: int = 30000
    powers: tuple[float, ...] = (1.0, 3.0)
    n_snapshots: int = 60
    seed: int = 0

    def __post_init__(self) -> None:
        self.mixture()
        require(self.dim == 3, "dim", self.dim, "3 (the figure draws the unit sphere of R^3)")
        require_counts(self, "n", "width", "steps", "n_snapshots")
        require(self.init_scale > 0 and self.lr > 0, "init_scale/lr", (self.init_scale, self.lr), "numbers > 0")
        require_powers(self.powers)

    def mixture(self) -> MixtureSpec:
        return MixtureSpec(self.dim, self.n_clusters, self.n_positive, self.alpha)

    def snapshot_steps(self) -> list[int]:
        """0 and log-spaced steps up to ``steps``."""
        grid = np.unique(np.round(np.logspace(0, math.log10(self.steps), self.n_snapshots - 1)).astype(int))
        return [0] + grid.tolist()


@dataclass(frozen=True)
class AlignmentRun:
    """One net of the figure: the toy of ``config`` trained with exponent ``p``."""

    config: AlignmentConfig
    p: float

    def settings(self) -> dict[str, Any]:
        """Exactly the settings that determine the run: its store key."""
        return {**dataclasses.asdict(self.config), "powers": None, "p": float(self.p)}


PROFILES = {"paper": AlignmentConfig()}
PROFILES["ci"] = PROFILES["paper"]  # the default already runs in well under two minutes


def make_config(profile: str = "paper", **overrides: Any) -> AlignmentConfig:
    return build_config(PROFILES, profile, overrides)


def alignment_objective(x: torch.Tensor, y: torch.Tensor, directions: torch.Tensor, p: float) -> torch.Tensor:
    """``G(u) = mean_i y_i relu(<x_i, u>)^p`` for unit directions u (m, D): shape (m,)."""
    return (y[None, :] * (directions @ x.T).clamp_min(0).pow(p)).mean(1)


def extremal_vectors(x: torch.Tensor, y: torch.Tensor, p: float, sign: float, n_starts: int = 400,
                     steps: int = 3000, step_size: float = 0.05, seed: int = 0,
                     merge_degrees: float = 2.0, min_share: float = 0.01) -> torch.Tensor:
    """Attracting directions (m, D) of ``P_perp(u) sign grad G(u)`` with a positive value of ``sign G``.

    Projected gradient ascent of ``sign * G`` on the sphere from ``n_starts``
    random points; limits closer than ``merge_degrees`` are merged, and limits
    whose value is below ``min_share`` of the best (directions that almost no
    point activates, where neurons stay small) are dropped.
    """
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(n_starts, x.shape[1], generator=gen, dtype=torch.float64)
    u = u / u.norm(dim=1, keepdim=True)
    x, y = x.double(), y.double()
    for _ in range(steps):
        grad = sign * p * (y[None, :] * (u @ x.T).clamp_min(0).pow(p - 1) * (u @ x.T > 0)) @ x / len(y)
        grad = grad - (grad * u).sum(1, keepdim=True) * u
        u = u + step_size * grad
        u = u / u.norm(dim=1, keepdim=True)
    value = sign * alignment_objective(x, y, u, p)
    u = u[value > min_share * value.max().clamp_min(1e-300)]
    kept: list[torch.Tensor] = []
    for candidate in u[torch.argsort(sign * alignment_objective(x, y, u, p), descending=True)]:
        if all(float(candidate @ k) < math.cos(math.radians(merge_degrees)) for k in kept):
            kept.append(candidate)
    return torch.stack(kept) if kept else torch.zeros(0, x.shape[1], dtype=torch.float64)


def compute_run(one: AlignmentRun) -> dict[str, np.ndarray]:
    """Train one net and return its snapshots and the predicted extremal vectors."""
    config, p = one.config, one.p
    spec = config.mixture()
    data = sample_mixture(spec, config.n, seed=derive_seed(config.seed, "data"), balanced=True)
    net = PReLUNet(config.dim, config.width, p=p).init_small(
        config.init_scale, torch.Generator().manual_seed(derive_seed(config.seed, "init")))
    log = train_sgd(net, data.x, data.y, SGDConfig(lr=config.lr, batch_size=config.n, epochs=config.steps),
                    snapshot_steps=config.snapshot_steps(), show_progress=True)
    steps = np.array([s for s, _, _ in log.snapshots])
    W = torch.stack([w for _, w, _ in log.snapshots])
    v = torch.stack([vv for _, _, vv in log.snapshots])
    positive = extremal_vectors(data.x, data.y, p, +1.0, seed=derive_seed(config.seed, "extremal", 1))
    negative = extremal_vectors(data.x, data.y, p, -1.0, seed=derive_seed(config.seed, "extremal", -1))
    return {"steps": steps, "W": W.numpy(), "v": v.numpy(), "log_loss": np.asarray(log.log_loss),
            "extremal_positive": positive.numpy(), "extremal_negative": negative.numpy(),
            "x": data.x.numpy(), "y": data.y.numpy()}


@dataclass
class AlignmentTrajectory:
    """One p: snapshots at ``steps`` (T,) of ``W`` (T, h, 3) and ``v`` (T, h);
    the per-step ``log_loss`` (steps,); the data ``x`` (n, 3), ``y`` (n,); the
    predicted extremal vectors for v > 0 and v < 0, (m, 3) each."""

    p: float
    steps: np.ndarray
    W: np.ndarray
    v: np.ndarray
    log_loss: np.ndarray
    x: np.ndarray
    y: np.ndarray
    extremal_positive: np.ndarray
    extremal_negative: np.ndarray

    @property
    def contributions(self) -> np.ndarray:
        """|v_j| ||w_j|| at each snapshot, (T, h)."""
        return np.abs(self.v) * np.linalg.norm(self.W, axis=2)

    @property
    def directions(self) -> np.ndarray:
        return self.W / np.linalg.norm(self.W, axis=2, keepdims=True)

    def alignment_index(self, growth: float = 10.0) -> int:
        """The last snapshot before any neuron norm exceeds ``growth`` times its
        initial maximum: the end of the alignment phase (norms still small)."""
        norms = np.linalg.norm(self.W, axis=2).max(axis=1)
        return int(np.nonzero(norms <= growth * norms[0])[0][-1])

    def dominant(self, share: float = 0.01) -> np.ndarray:
        """Neurons whose final contribution is at least ``share`` of the largest."""
        return neurons.dominant(torch.from_numpy(self.contributions[-1]), share).numpy()

    def targets(self) -> np.ndarray:
        """For each neuron, the extremal vector (of its sign of v) nearest its final direction, (h, 3)."""
        final = self.directions[-1]
        targets = np.zeros_like(final)
        for j, (w, s) in enumerate(zip(final, np.sign(self.v[-1]))):
            candidates = self.extremal_positive if s > 0 else self.extremal_negative
            if len(candidates):
                targets[j] = candidates[np.argmax(candidates @ w)]
        return targets

    def angle_to_prediction(self) -> np.ndarray:
        """Angle in degrees between each dominant neuron's final direction and its nearest
        predicted extremal vector, (len(dominant),)."""
        idx = self.dominant()
        cos = np.clip((self.directions[-1][idx] * self.targets()[idx]).sum(1), -1, 1)
        return np.degrees(np.arccos(cos))


def stored_runs(config: AlignmentConfig) -> list[tuple[str, AlignmentRun]]:
    """Every store entry a page of ``config`` reads, as (kind, run): what a sweep computes."""
    return [(KIND, AlignmentRun(config, float(p))) for p in config.powers]


def compute_entry(kind: str, run: AlignmentRun, store: ResultsStore | None = None) -> dict[str, np.ndarray]:
    """One entry of :func:`stored_runs`, on one thread: what a sweep's worker computes."""
    with num_threads(1):
        return compute_run(run)


@dataclass
class AlignmentResults:
    """The page's trajectories (one per p of ``config.powers``), its profile, and what its
    runs cost."""

    config: AlignmentConfig
    profile: str
    runs: list[AlignmentTrajectory]
    cost: SweepCost = field(default_factory=SweepCost)


def is_complete(config: AlignmentConfig, store: ResultsStore | None = None) -> bool:
    """Whether every run of ``config`` is stored."""
    return all_stored(store or default_store("paper"), KIND, [AlignmentRun(config, float(p)) for p in config.powers])


def resolve_profile(profile: str, store: ResultsStore | None = None, **overrides: Any) -> tuple[str, AlignmentConfig]:
    """``auto`` picks ``paper`` when all its runs are stored, else ``ci`` (the same settings)."""
    return _resolve(PROFILES, profile, lambda paper: is_complete(paper, store or default_store("paper")), overrides)


def run(config: AlignmentConfig, profile: str = "paper", *, store: ResultsStore | None = None,
        force: bool = False) -> AlignmentResults:
    """Load (or compute and store) the trajectory of each p of ``config``."""
    store, cost = store or default_store(profile), SweepCost()
    runs = []
    with num_threads(1):
        for one, arrays in sweep(store, KIND, [AlignmentRun(config, float(p)) for p in config.powers], compute_run,
                                 cost, force=force, show_progress=False):
            runs.append(AlignmentTrajectory(p=one.p, **{k: arrays[k] for k in (
                "steps", "W", "v", "log_loss", "x", "y", "extremal_positive", "extremal_negative")}))
    return AlignmentResults(config, profile, runs, cost)
