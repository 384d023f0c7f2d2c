"""Section 5.2.1 (parity) and Appendix B (ten classes) on real MNIST.

One *run* is a (p, repeat) pair: train a centred, input-normalised pReLU net
(784 -> 500 -> n_class) with Adam, logging loss, accuracies and the hidden
features' stable rank per epoch, then attack it with AutoAttack's APGD-CE at
every radius and for Table 1. Each run is one store entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..data.mnist import N_CLASSES, SPLITS, ImageSplit, load_mnist
from ..device import compute_device
from ..metrics import gram_stable_rank
from ..models import PReLUNet, matmul_in, products_in
from ..progress import progress
from ..store import ResultsStore, default_store
from ..train import PRODUCT_DTYPES
from ..validation import require, require_choice
from .common import SweepCost, build_config, derive_seed, shard_of, sweep

KIND = "mnist-run"
#: Trained weights and training history, keyed by the training settings alone, so
#: changing only the attack reuses the model. Local cache (git-ignored: ~1.6 MB each).
MODEL_KIND = "mnist-model"
#: Settings that concern the attacks only.
ATTACK_SETTINGS = ("eps_grid", "attack_points", "table1", "table1_points", "attack_batch", "attack_product_dtype")

#: Table 1: (norm, eps) pairs, attacked with APGD-CE ('standard': L1 uses 5 restarts).
TABLE1 = (("Linf", 0.05), ("Linf", 0.1), ("L2", 1.0), ("L2", 2.0), ("L1", 5.0), ("L1", 10.0))
TABLE1_DRAW_SEED = 0


def _grid(start: float, stop: float, num: int) -> tuple[float, ...]:
    return tuple(round(float(v), 12) for v in np.linspace(start, stop, num))


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
    eps_grid: tuple[float, ...] = _grid(0.0, 0.2, 15)
    attack_points: int | None = None  # None: the whole test split
    table1: bool = True
    table1_points: int | None = None  # None: the same points as the robust-accuracy curve
    # APGD-CE on 500 points at a time: its (500, 784) arrays stay in cache (a Linf run on 2,000
    # points: 2.75 CPU-s against 3.9 in batches of 1,000, measured with the other core busy)
    attack_batch: int = 500
    correlation_points: int = 10000
    seed: int = 0
    # Precision of the first layer's product (None: float32), in training and inside
    # APGD; every verdict is taken in float32 (see apgd_ce).
    product_dtype: str | None = "bfloat16"
    attack_product_dtype: str | None = "bfloat16"

    def __post_init__(self) -> None:
        require_choice("n_class", self.n_class, N_CLASSES)
        require_choice("split", self.split, SPLITS)
        require(len(self.powers) >= 1 and all(p >= 1 for p in self.powers), "powers", self.powers,
                "a non-empty list of exponents p >= 1")
        for name in ("width", "batch_size", "epochs", "repeats", "attack_batch", "correlation_points"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, name, value, "an integer >= 1")
        for name in ("n_train", "n_test", "attack_points", "table1_points"):
            value = getattr(self, name)
            require(value is None or (isinstance(value, int) and value >= 1), name, value, "None or an integer >= 1")
        require(self.lr > 0, "lr", self.lr, "a number > 0")
        for name in ("product_dtype", "attack_product_dtype"):
            require_choice(name, getattr(self, name), (None, *PRODUCT_DTYPES))
        require(len(self.eps_grid) >= 1 and all(0 <= e <= 1 for e in self.eps_grid), "eps_grid", self.eps_grid,
                "a non-empty list of Linf radii in [0, 1]")

    def run_settings(self, p: float, repeat: int) -> dict[str, Any]:
        settings = dataclasses.asdict(self)
        for name in ("powers", "repeats", "correlation_points"):
            settings.pop(name)
        settings.update(p=float(p), run_seed=derive_seed(self.seed, "mnist", repeat))
        settings.pop("seed")
        return settings


PROFILES: dict[str, MnistConfig] = {
    # Table 1 on a fixed random draw of 1,000 test points (see table1_points): its six
    # attacks (L1 with five restarts) cost ~1,000 CPU-s per model on all 10,000 here.
    "paper": MnistConfig(table1_points=1000),
    "ci": MnistConfig(n_train=5000, n_test=1000, epochs=8, repeats=2, eps_grid=_grid(0.0, 0.2, 6),
                      attack_points=200, table1_points=40, correlation_points=1000),
}


def make_config(profile: str = "ci", **overrides: Any) -> MnistConfig:
    return build_config(PROFILES, profile, overrides)


def load_data(config: MnistConfig, data_root: str | None = None) -> ImageSplit:
    data = load_mnist(config.split, config.n_class, data_root)
    n_train, n_test = config.n_train or len(data.y_train), config.n_test or len(data.y_test)
    return ImageSplit(data.x_train[:n_train], data.y_train[:n_train], data.x_test[:n_test], data.y_test[:n_test])


# -- one run --------------------------------------------------------------------
def _evaluate(net: PReLUNet, x: torch.Tensor, y: torch.Tensor, with_gram: bool = False,
              chunk: int = 10000) -> tuple[float, float, torch.Tensor | None]:
    """Loss, accuracy and (``with_gram``) the hidden features' Gram matrix (width, width), in one pass."""
    losses, correct, gram = 0.0, 0, 0.0
    with torch.no_grad():
        for s in range(0, len(y), chunk):
            h = net.features(x[s:s + chunk])
            logits = h @ net.v.T + net.b
            losses += float(torch.nn.functional.cross_entropy(logits, y[s:s + chunk], reduction="sum"))
            correct += int((logits.argmax(1) == y[s:s + chunk]).sum())
            if with_gram:  # bf16: stable rank within ~5e-5 (relative) of float64's, measured
                gram = gram + matmul_in(h.T, h, net.product_dtype)
    return losses / len(y), correct / len(y), gram if with_gram else None


def train_run(s: dict[str, Any], data: ImageSplit, device: torch.device, show_progress: bool = True):
    """Adam on cross-entropy from the reference initialisation; per-epoch statistics."""
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    gen = torch.Generator().manual_seed(derive_seed(s["run_seed"], "init"))
    net = PReLUNet(x_train.shape[1], s["width"], p=s["p"], out_dim=s["n_class"], normalize_input=True,
                   center=x_train.mean(0), bias=True).init_reference_mnist(gen).to(device)
    net.product_dtype = PRODUCT_DTYPES.get(s["product_dtype"])  # None: float32
    optimizer = torch.optim.Adam(net.parameters(), lr=s["lr"], fused=True)
    order_gen = torch.Generator().manual_seed(derive_seed(s["run_seed"], "order"))
    history = {k: [] for k in ("train_loss", "train_accuracy", "test_accuracy", "stable_rank")}
    n = len(y_train)
    for _ in progress(range(s["epochs"]), desc=f"train p={s['p']:g}", enabled=show_progress):
        order = torch.randperm(n, generator=order_gen).to(device)
        for start in range(0, n, s["batch_size"]):
            idx = order[start:start + s["batch_size"]]  # index_select: 14x faster than x_train[idx] here
            loss = torch.nn.functional.cross_entropy(net(x_train.index_select(0, idx)), y_train.index_select(0, idx))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        train_loss, train_acc, gram = _evaluate(net, x_train, y_train, with_gram=True)
        history["train_loss"].append(train_loss)
        history["train_accuracy"].append(train_acc)
        history["test_accuracy"].append(_evaluate(net, x_test, y_test)[1])
        history["stable_rank"].append(gram_stable_rank(gram))
    return net.eval(), {k: np.asarray(v) for k, v in history.items()}


def _correct(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Which points (n,) ``net`` classifies correctly."""
    with torch.no_grad():
        return torch.cat([torch.zeros(0, dtype=torch.bool, device=y.device)]
                         + [net(x[s:s + batch_size]).argmax(1) == y[s:s + batch_size]
                            for s in range(0, len(y), batch_size)])


def apgd_ce(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, norm: str, eps: float, seed: int,
            batch_size: int, device: torch.device, product_dtype: torch.dtype | None = None) -> torch.Tensor:
    """AutoAttack's APGD-CE ('standard' version: 100 iterations; 1 restart for
    Linf/L2, 5 for L1). Returns which points (n,) bool stay correct, judged in
    the parameters' precision (float32). Any classifier module will do.

    With ``product_dtype`` (``net`` a :class:`PReLUNet`) the attack runs on the net
    with its first-layer product in that precision (bf16: an APGD-CE Linf run ~2x
    faster); its examples are then judged in float32. A point the low-precision net
    calls broken but float32 does not (a rounding artefact at the decision boundary)
    is attacked again in float32, so that no success is lost to the rounding."""
    from pyautoattack import AutoAttack

    if eps == 0 or len(y) == 0:
        return _correct(net, x, y, batch_size)
    with products_in(net, product_dtype) if product_dtype is not None else contextlib.nullcontext():
        attack = AutoAttack(net, norm=norm, eps=eps, version="standard", device=str(device), seed=seed)
        attack.attacks_to_run = ["apgd-ce"]
        attack.verbose = False
        x_adv, _ = attack.run_standard_evaluation(x, y, batch_size=batch_size)
        fooled_low = ~_correct(net, x_adv, y, batch_size) if product_dtype is not None else None
    kept = _correct(net, x_adv, y, batch_size)
    if fooled_low is not None and bool((refuted := fooled_low & kept).any()):
        idx = torch.nonzero(refuted).squeeze(1)
        kept[idx] = apgd_ce(net, x[idx], y[idx], norm, eps, seed, batch_size, device)
    return kept


def robust_curve(net, x, y, radii, seed, batch_size, device, norm: str = "Linf",
                 show_progress: bool = False, product_dtype: torch.dtype | None = None) -> np.ndarray:
    """APGD-CE accuracy at each radius (len(radii),) in one norm. A point broken at a
    smaller radius is broken at every larger one (its adversarial example stays
    admissible), so only the survivors of the previous radius are attacked; radius
    0 is clean accuracy. Exact: the same verdicts as attacking every point anew,
    or stronger."""
    order = np.argsort(radii)
    alive = torch.ones(len(y), dtype=torch.bool, device=x.device)
    accuracy = np.zeros(len(radii))
    for i in progress(order, desc=f"APGD-CE {norm}", enabled=show_progress):
        idx = torch.nonzero(alive).squeeze(1)
        kept = apgd_ce(net, x[idx], y[idx], norm, float(radii[i]), seed + int(i), batch_size, device, product_dtype)
        alive[idx[~kept]] = False
        accuracy[i] = float(alive.double().mean())
    return accuracy


def table1_points(n: int, m: int | None) -> torch.Tensor:
    """Indices (m,) of the attacked points Table 1 uses: all n, or m drawn once at
    random (the same for every run). Not the first m: the first test images are
    harder than average (p=1, Linf 0.1: 0.029 on the first 1,000, 0.040 on all)."""
    if m is None or m >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(TABLE1_DRAW_SEED))[:m].sort().values


def table1_accuracy(net, x, y, seed, batch_size, device, show_progress: bool = False,
                    product_dtype: torch.dtype | None = None) -> np.ndarray:
    """Table 1's accuracies (6,), in the order of ``TABLE1``: per norm, the radii as
    one survivors-only curve."""
    out = np.zeros(len(TABLE1))
    for k, norm in enumerate(dict.fromkeys(n for n, _ in TABLE1)):
        where = [i for i, (n, _) in enumerate(TABLE1) if n == norm]
        out[where] = robust_curve(net, x, y, [TABLE1[i][1] for i in where], seed + 100 * (k + 1), batch_size,
                                  device, norm, show_progress, product_dtype)
    return out


def trained_model(s: dict[str, Any], data: ImageSplit, device: torch.device, store: ResultsStore,
                  show_progress: bool = True, force: bool = False) -> tuple[PReLUNet, dict[str, np.ndarray]]:
    """The trained net (frozen) and its history, from the model cache or trained
    now (``force``: retrain); the history includes ``train_seconds``."""
    def train() -> dict[str, np.ndarray]:
        start = time.perf_counter()
        net, history = train_run(s, data, device, show_progress)
        return {**{k: t.detach().cpu().numpy() for k, t in net.state_dict().items()}, **history,
                "train_seconds": np.asarray(time.perf_counter() - start)}

    arrays, _ = store.get_or_compute(MODEL_KIND, {k: v for k, v in s.items() if k not in ATTACK_SETTINGS}, train,
                                     force=force)
    net = PReLUNet(data.x_train.shape[1], s["width"], p=s["p"], out_dim=s["n_class"], normalize_input=True,
                   center=torch.as_tensor(arrays["center"]), bias=True)
    net.load_state_dict({k: torch.as_tensor(arrays[k]) for k in net.state_dict()})
    net = net.to(device).eval().requires_grad_(False)
    history = {k: arrays[k] for k in ("train_loss", "train_accuracy", "test_accuracy", "stable_rank", "train_seconds")}
    return net, history


def compute_run(s: dict[str, Any], data: ImageSplit, device: torch.device, store: ResultsStore,
                show_progress: bool = True, force: bool = False) -> dict[str, np.ndarray]:
    """Train (or load the cached model), then the Linf curve and Table 1."""
    net, arrays = trained_model(s, data, device, store, show_progress, force)
    start = time.perf_counter()
    n_attack = s["attack_points"] or len(data.y_test)
    x, y = data.x_test[:n_attack].to(device), data.y_test[:n_attack].to(device)
    seed = derive_seed(s["run_seed"], "attack") % (2**31)
    dtype = PRODUCT_DTYPES.get(s["attack_product_dtype"])
    arrays["robust_accuracy"] = robust_curve(net, x, y, s["eps_grid"], seed, s["attack_batch"], device,
                                             show_progress=show_progress, product_dtype=dtype)
    if s["table1"]:
        pick = table1_points(len(y), s["table1_points"])
        arrays["table1"] = table1_accuracy(net, x[pick], y[pick], seed, s["attack_batch"], device, show_progress,
                                           dtype)
    arrays["attack_seconds"] = np.asarray(time.perf_counter() - start)
    return arrays


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
    wall_s: float = 0.0
    cpu_s: float = 0.0
    runs_computed: int = 0
    runs_total: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)


def correlation_image(x: torch.Tensor, digits: torch.Tensor, size: int = 500) -> np.ndarray:
    """Cosines between centred, normalised images sorted by digit (m, m), block-averaged
    to at most ``size`` x ``size`` so the panel is one small image."""
    order = torch.argsort(digits, stable=True)
    z = x[order] - x.mean(0)
    z = z / z.norm(dim=1, keepdim=True)
    m = len(z)
    block = max(1, -(-m // size))
    cos = z @ z.T
    cut = (m // block) * block
    pooled = cos[:cut, :cut].reshape(cut // block, block, cut // block, block).mean((1, 3))
    return pooled.numpy().astype(np.float16)


def _runs(config: MnistConfig) -> list[tuple[int, float, int]]:
    """(power index, p, repeat), repeat by repeat: a partial sweep has whole repeats."""
    return [(pi, p, r) for r in range(config.repeats) for pi, p in enumerate(config.powers)]


def compute_share(config: MnistConfig, profile: str = "custom", *, shard: tuple[int, int] = (0, 1),
                  store: ResultsStore | None = None, device: str = "auto", data_root: str | None = None,
                  show_progress: bool = True) -> SweepCost:
    """Compute (or find stored) every ``shard[1]``-th run starting at ``shard[0]``:
    ``n`` processes with shards (0, n) ... (n-1, n) fill the store in parallel."""
    store, dev, data, cost = store or default_store(profile), compute_device(device), load_data(config, data_root), SweepCost()
    for _ in sweep(store, KIND, shard_of(_runs(config), shard), lambda run: config.run_settings(*run[1:]),
                   lambda settings: compute_run(settings, data, dev, store, show_progress), cost,
                   show_progress=show_progress):
        pass
    return cost


def run(config: MnistConfig, profile: str = "custom", *, store: ResultsStore | None = None, device: str = "auto",
        force: bool = False, data_root: str | None = None, show_progress: bool = True) -> MnistResults:
    store = store or default_store(profile)
    dev = compute_device(device)
    data = load_data(config, data_root)
    P, R = len(config.powers), config.repeats
    fields = {k: [[None] * R for _ in range(P)] for k in
              ("train_loss", "train_accuracy", "test_accuracy", "stable_rank", "robust_accuracy", "table1",
               "train_seconds", "attack_seconds")}
    cost = SweepCost()
    for (pi, p, r), arrays in sweep(store, KIND, _runs(config), lambda run: config.run_settings(*run[1:]),
                                    lambda settings: compute_run(settings, data, dev, store, show_progress, force), cost,
                                    force=force, show_progress=show_progress):
        for k in fields:
            fields[k][pi][r] = arrays.get(k)
    stacked = {k: np.asarray(v, dtype=float) for k, v in fields.items() if k != "table1"}
    table1 = np.asarray(fields["table1"], dtype=float) if config.table1 else None
    full = load_mnist(config.split, 10, data_root)  # digits for sorting the correlation panel
    m = min(config.correlation_points, len(data.y_train))
    correlation = correlation_image(data.x_train[:m], full.y_train[:m])
    return MnistResults(config, profile, table1=table1, correlation=correlation, wall_s=cost.wall_s,
                        cpu_s=cost.cpu_s, runs_computed=cost.computed, runs_total=cost.total,
                        provenance=cost.provenance, **stacked)


def resolve_profile(profile: str, store: ResultsStore | None = None, **overrides: Any) -> tuple[str, MnistConfig]:
    """``auto`` picks ``paper`` when all its runs are stored, else ``ci``."""
    if profile == "auto":
        paper = make_config("paper", **overrides)
        paper_store = store or default_store("paper")
        if all(paper_store.has(KIND, paper.run_settings(p, r)) for p in paper.powers for r in range(paper.repeats)):
            return "paper", paper
        profile = "ci"
    return profile, make_config(profile, **overrides)
