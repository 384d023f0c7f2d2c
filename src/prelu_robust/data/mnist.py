"""Real MNIST through torchvision, with the paper's 50k/10k split.

The data root is, in order: the ``root`` argument (a notebook parameter),
``$PRELU_ROBUST_DATA``, or ``data/`` of the checkout. If ``ROOT/MNIST/raw`` lacks
the original gzip files and a local copy exists (``$PRELU_ROBUST_SHARED_DATA``,
default ``../shared/data`` beside the checkout), they are copied; torchvision
then verifies their checksums and extracts them without network. Elsewhere
torchvision downloads them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets import MNIST

from .. import paths
from ..validation import require_choice

__all__ = ["FILES", "SPLITS", "N_CLASSES", "DatasetMissingError", "ImageSplit", "data_root", "copy_local_files",
           "load_mnist"]

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SPLITS = ("paper", "official")
N_CLASSES = (2, 10)


class DatasetMissingError(RuntimeError):
    """The dataset is neither on disk nor downloadable."""


@dataclass(frozen=True)
class ImageSplit:
    """Flattened images in [0, 1]: ``x_train`` (n, 784), ``y_train`` (n,) int64
    in [0, n_class); likewise the test part."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    if root is not None:
        return Path(root)
    return Path(os.environ.get("PRELU_ROBUST_DATA", paths.DATA))


def copy_local_files(raw: Path, folder: str = "MNIST") -> None:
    """Copy the original files of ``folder`` (``MNIST``, ``FashionMNIST``: the same file
    names) into ``raw`` from the local copy, when ``raw`` lacks them and the copy has them."""
    shared = Path(os.environ.get("PRELU_ROBUST_SHARED_DATA", paths.SHARED_DATA)) / folder / "raw"
    if all((raw / f).is_file() for f in FILES) or not all((shared / f).is_file() for f in FILES):
        return
    raw.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if not (raw / name).is_file():
            shutil.copyfile(shared / name, raw / name)


def load_mnist(split: str = "paper", n_class: int = 10, root: str | os.PathLike[str] | None = None) -> ImageSplit:
    """MNIST with labels ``digit % n_class`` (2: parity, 10: digits).

    ``split="paper"``: train = the first 50,000 training images, test = training
    images 50,000-59,999 (the reference's classic split). ``"official"``: the
    60,000 training and 10,000 test images.
    """
    require_choice("split", split, SPLITS)
    require_choice("n_class", n_class, N_CLASSES)

    root = data_root(root)
    copy_local_files(root / "MNIST" / "raw")
    try:
        train = MNIST(str(root), train=True, download=True)
        test = MNIST(str(root), train=False, download=True) if split == "official" else None
    except (OSError, RuntimeError) as err:
        raise DatasetMissingError(
            f"MNIST is not under {root / 'MNIST' / 'raw'} and could not be downloaded ({err}). "
            f"Put the four original files ({', '.join(FILES)}) there, or set PRELU_ROBUST_DATA "
            f"(or the notebook parameter data_root) to a folder holding MNIST/raw/.") from None

    def flat(images: torch.Tensor) -> torch.Tensor:
        return images.reshape(len(images), -1).float() / 255.0

    x, y = flat(train.data), train.targets % n_class
    if split == "paper":
        return ImageSplit(x[:50000], y[:50000], x[50000:60000], y[50000:60000])
    return ImageSplit(x, y, flat(test.data), test.targets % n_class)
