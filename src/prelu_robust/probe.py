"""A pReLU classifier on fixed inputs (MNIST's pixels, a frozen backbone's features):
the reference's initialisation, Adam on cross-entropy, and per-epoch statistics.

The MNIST and Caltech-256 experiments both train this way (Section 5.2): a net
``in_dim -> width -> n_class`` centred at the mean training input, inputs normalised,
:meth:`~prelu_robust.models.PReLUNet.init_reference_mnist`'s initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data.mnist import ImageSplit
from .metrics import classifier_statistics
from .models import PReLUNet
from .precision import PRODUCT_DTYPES
from .train import AdamConfig, train_adam

__all__ = ["HISTORY", "ProbeSpec", "train_probe"]

#: The statistics logged before each epoch, each (epochs,): what the figures' panels (b, c) draw.
HISTORY = ("train_loss", "train_accuracy", "test_accuracy", "stable_rank")


@dataclass(frozen=True)
class ProbeSpec:
    """The net and its training: ``width`` hidden neurons of exponent ``p``, ``n_class``
    outputs (with an output bias when ``bias``), Adam's ``adam`` settings, and the first
    layer's product precision (``product_dtype``, a name of ``PRODUCT_DTYPES``)."""

    p: float
    width: int
    n_class: int
    bias: bool
    adam: AdamConfig
    product_dtype: str = "float32"


def train_probe(data: ImageSplit, spec: ProbeSpec, init_seed: int, device: torch.device,
                show_progress: bool = True) -> tuple[PReLUNet, dict[str, np.ndarray]]:
    """Train on ``data`` (inputs (n, in_dim)) from the reference initialisation drawn with
    ``init_seed``; returns the net in eval mode and its :data:`HISTORY`."""
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    gen = torch.Generator().manual_seed(init_seed)
    net = PReLUNet(x_train.shape[1], spec.width, p=spec.p, out_dim=spec.n_class, normalize_input=True,
                   center=x_train.mean(0), bias=spec.bias).init_reference_mnist(gen).to(device)
    net.product_dtype = PRODUCT_DTYPES.get(spec.product_dtype)  # None: float32
    history: dict[str, list[float]] = {k: [] for k in HISTORY}

    def log_epoch(epoch: int) -> None:
        train = classifier_statistics(net, x_train, y_train, with_stable_rank=True)
        history["train_loss"].append(train.loss)
        history["train_accuracy"].append(train.accuracy)
        history["test_accuracy"].append(classifier_statistics(net, x_test, y_test).accuracy)
        history["stable_rank"].append(train.stable_rank)

    train_adam(net, x_train, y_train, spec.adam, show_progress=show_progress, on_epoch=log_epoch)
    return net.eval(), {k: np.asarray(v) for k, v in history.items()}
