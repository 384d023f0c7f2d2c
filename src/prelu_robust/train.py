"""Training loops: small-initialisation SGD / GD for the plain pReLU net (Section 5.1)
and Adam for the real-data nets (Section 5.2).

The SGD loss is ``mean_i l(y_i f(x_i))`` with ``l(m) = exp(-m)`` (the paper) or
``log(1 + exp(-m))``. Losses are reported in the log domain (``log mean l``), so a
well-trained net never shows a loss of exactly 0 and a diverging one raises
instead of producing NaNs. The gradient is closed-form (see
:meth:`PReLUNet.param_grad`); tests check it against autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from . import neurons
from .models import PReLUNet
from .precision import PRODUCT_DTYPES, resolve_precision_fields
from .progress import progress
from .validation import require, require_choice

__all__ = ["LOSSES", "SCHEDULES", "log_mean_loss", "loss_slope", "SGDConfig", "TrainLog",
           "train_sgd", "AdamConfig", "train_adam"]

Tensor = torch.Tensor


# -- losses on the margin m = y f(x) ----------------------------------------
def log_mean_loss(margins: Tensor, loss: str) -> float:
    """``log(mean_i l(m_i))`` computed without overflow or underflow."""
    m = margins.double()
    if loss == "exp":
        per_point = -m  # log exp(-m)
    else:
        per_point = torch.log(torch.nn.functional.softplus(-m).clamp_min(1e-300))
        small = m > 30  # softplus(-m) ~ exp(-m) underflows to 0 there
        per_point = torch.where(small, -m, per_point)
    return float(torch.logsumexp(per_point, 0) - math.log(m.numel()))


def loss_slope(margins: Tensor, loss: str) -> Tensor:
    """``dl/dm`` at each margin, shape (n,); computed in float64 so it cannot
    overflow before the margin is below -700 (a diverged run)."""
    m = margins.double()
    slope = -torch.exp(-m) if loss == "exp" else -torch.sigmoid(-m)
    if not torch.isfinite(slope).all():
        raise FloatingPointError("training diverged (margin below -700): lower the learning rate")
    return slope.to(margins.dtype)


LOSSES = ("exp", "logistic")
SCHEDULES = ("constant", "loss_adaptive")


@dataclass(frozen=True)
class SGDConfig:
    """Plain SGD: ``lr``, ``batch_size`` (>= n means full-batch GD), ``epochs``.

    ``stop_loss`` ends training once the epoch's mean loss falls below it (None:
    run all epochs). ``seed`` fixes the batch order.

    ``prune_tol``: once the net fits the data (the epoch's mean loss is below a
    tenth of its initial value, so the aligned neurons have grown by orders of
    magnitude), neurons contributing less than
    ``prune_tol`` times the largest are frozen and no longer computed. After
    small-init training most neurons are such (p=3 nets use a few dozen of
    2000). The frozen share of the total contribution is logged
    (``TrainLog.pruned_share``): it bounds their effect on the output.

    ``schedule="loss_adaptive"`` multiplies the step by ``L_0 / L`` (capped at
    ``max_boost``), with L the previous epoch's mean loss, and stops when the
    gradient-flow time ``sum of steps`` reaches that of the constant schedule
    (``epochs * batches_per_epoch * lr``). While L ~ L_0 (the alignment phase)
    nothing changes; in the late phase, where the loss decays like 1/t, the same
    time is covered in a few epochs.

    ``product_dtype="bfloat16"`` runs the two matrix products of each step (the
    forward pass and the weight gradient) in bf16, with the parameters and
    everything else in their own precision (see :meth:`PReLUNet.param_grad`); None
    or "float32" keeps the data's dtype; "auto" is this machine's faster one
    (:mod:`prelu_robust.precision`). The trained net differs from the float32 one by much less than a change of
    repeat does (``tests/test_train.py``, the figure's rerun tables). On the CPU the
    rest of a bf16 step runs in the fused loops of :mod:`prelu_robust.kernels`.
    """

    lr: float
    batch_size: int
    epochs: int
    loss: str = "exp"
    stop_loss: float | None = None
    prune_tol: float | None = None
    schedule: str = "constant"
    max_boost: float = 1e4
    product_dtype: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        require(self.lr > 0, "lr", self.lr, "a number > 0")
        require(self.batch_size >= 1, "batch_size", self.batch_size, "an integer >= 1")
        require(self.epochs >= 1, "epochs", self.epochs, "an integer >= 1")
        require_choice("loss", self.loss, LOSSES)
        require(self.stop_loss is None or self.stop_loss > 0, "stop_loss", self.stop_loss, "None or a number > 0")
        require(self.prune_tol is None or 0 <= self.prune_tol < 1, "prune_tol", self.prune_tol,
                "None or a number in [0, 1)")
        require_choice("schedule", self.schedule, SCHEDULES)
        require(self.max_boost >= 1, "max_boost", self.max_boost, "a number >= 1")
        resolve_precision_fields(self, "product_dtype")


@dataclass
class TrainLog:
    """What training leaves behind: per-epoch ``log_loss`` and ``train_error``
    (on the batches as they were visited), the number of ``steps`` taken, the
    gradient-flow time ``flow_time`` (sum of step sizes), and
    ``snapshots`` of ``(step, W (h,D), v (h,))`` at the requested steps."""

    log_loss: list[float] = field(default_factory=list)
    train_error: list[float] = field(default_factory=list)
    steps: int = 0
    snapshots: list[tuple[int, Tensor, Tensor]] = field(default_factory=list)
    flow_time: float = 0.0
    active_neurons: int = 0
    pruned_share: float = 0.0
    pruned_at_epoch: int = -1

    @property
    def final_loss(self) -> float:
        return math.exp(self.log_loss[-1])


def train_sgd(model: PReLUNet, x: Tensor, y: Tensor, config: SGDConfig, *,
              snapshot_steps: Sequence[int] = (), show_progress: bool = True,
              on_epoch: Callable[[int, TrainLog], None] | None = None) -> TrainLog:
    """Train ``model`` in place on ``x`` (n, D), ``y`` (n,) in {-1,+1}.

    ``snapshot_steps`` lists step counts (0 = before training) at which copies
    of the parameters are stored in the log.
    """
    require(x.shape[0] == y.shape[0], "y", tuple(y.shape), f"one label per row of x, i.e. ({x.shape[0]},)")
    n = x.shape[0]
    batch = min(config.batch_size, n)
    gen = torch.Generator().manual_seed(config.seed)
    wanted = sorted(set(int(s) for s in snapshot_steps))
    log = TrainLog(active_neurons=model.width)
    flow_time_budget = config.epochs * math.ceil(n / batch) * config.lr
    lr = config.lr
    active = torch.arange(model.width, device=model.W.device)
    work = model  # the units still trained; a subnet once pruned
    product_dtype = PRODUCT_DTYPES.get(config.product_dtype)
    x_products = x if product_dtype is None else x.to(product_dtype)  # once

    def snapshot() -> None:
        if work is not model:
            model.write_back(active, work)
        while wanted and wanted[0] <= log.steps:
            wanted.pop(0)
            log.snapshots.append((log.steps, model.W.detach().clone(), model.v.detach()[0].clone()))

    snapshot()
    for epoch in progress(range(config.epochs), desc=f"train p={model.p:g}", enabled=show_progress):
        order = torch.randperm(n, generator=gen) if batch < n else torch.arange(n)
        margins = torch.empty(n, dtype=x.dtype, device=x.device)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            idx = idx.to(x.device)
            xb, yb = x_products.index_select(0, idx), y.index_select(0, idx)  # a cheaper gather than x[idx]
            grad = work.param_grad(xb, lambda f: loss_slope(yb * f, config.loss) * yb / len(idx))
            margins[start:start + len(idx)] = yb * grad.scores
            step = min(lr, flow_time_budget - log.flow_time)
            work.sgd_step(grad, step)
            log.flow_time += step
            log.steps += 1
            seen = start + len(idx)
            if wanted:
                snapshot()
            if log.flow_time >= flow_time_budget * (1 - 1e-12):
                break
        margins = margins[:seen]  # all of them unless the time budget ended mid-epoch
        log.log_loss.append(log_mean_loss(margins, config.loss))
        log.train_error.append(float((margins <= 0).double().mean()))
        if config.prune_tol is not None and work is model and log.log_loss[-1] < log.log_loss[0] - math.log(10):
            contribution = neurons.contributions(model.W.detach(), model.v.detach())
            keep = neurons.dominant_mask(contribution, config.prune_tol)
            log.pruned_share = float(contribution[~keep].sum() / contribution.sum())
            log.pruned_at_epoch = epoch
            active = torch.nonzero(keep).squeeze(1)
            work = model.subnet(active)
            log.active_neurons = len(active)
        if on_epoch is not None:
            on_epoch(epoch, log)
        if config.stop_loss is not None and log.log_loss[-1] < math.log(config.stop_loss):
            break
        if log.flow_time >= flow_time_budget * (1 - 1e-12):
            break
        if config.schedule == "loss_adaptive":
            lr = config.lr * min(config.max_boost, math.exp(max(0.0, log.log_loss[0] - log.log_loss[-1])))
    if work is not model:
        model.write_back(active, work)
    return log


@dataclass(frozen=True)
class AdamConfig:
    """Adam on cross-entropy: ``lr``, ``batch_size``, ``epochs``; ``seed`` fixes the batch order."""

    lr: float
    batch_size: int
    epochs: int
    seed: int = 0

    def __post_init__(self) -> None:
        require(self.lr > 0, "lr", self.lr, "a number > 0")
        require(self.batch_size >= 1, "batch_size", self.batch_size, "an integer >= 1")
        require(self.epochs >= 1, "epochs", self.epochs, "an integer >= 1")


def train_adam(model: torch.nn.Module, x: Tensor, y: Tensor, config: AdamConfig, *, show_progress: bool = True,
               on_epoch: Callable[[int], None] | None = None) -> None:
    """Train the classifier ``model`` (logits (n, classes)) in place with Adam on the
    cross-entropy of x (n, D), y (n,) class indices; ``on_epoch(epoch)`` after each epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    order_gen = torch.Generator().manual_seed(config.seed)
    n = len(y)
    for epoch in progress(range(config.epochs), desc=f"train p={getattr(model, 'p', 0):g}", enabled=show_progress):
        order = torch.randperm(n, generator=order_gen).to(x.device)
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]  # index_select: a cheaper gather than x[idx]
            loss = torch.nn.functional.cross_entropy(model(x.index_select(0, idx)), y.index_select(0, idx))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if on_epoch is not None:
            on_epoch(epoch)
