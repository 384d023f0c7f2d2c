"""Labelled photographs for a frozen backbone (Section 5.2.2): Caltech-256, and an offline
stand-in with the same structure, each with the paper's preprocessing and split.

Both are sets of images with *fine* labels whose superclass is ``fine % 10``: Caltech-256's
257 categories fall into 10 superclasses of about 26 unrelated objects each (the latent
subclasses the theory is about). The stand-in ``digits_garments`` takes real MNIST digits
and Fashion-MNIST garments, 20 fine classes (digit d: d, garment g: 10 + g), so that each
superclass holds one digit and one garment. Every image goes through the paper's
preprocessing: Resize(256), CenterCrop(224), grey repeated to three channels, ImageNet
normalisation.
"""

from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset, Subset, random_split
from torchvision import transforms
from torchvision.datasets import MNIST, Caltech256, FashionMNIST

from ..atomic import write_atomically
from ..validation import require, require_choice
from .mnist import FILES, DatasetMissingError, copy_local_files, data_root

__all__ = ["DATASETS", "N_SUPERCLASSES", "STANDIN_IMAGES", "STANDIN_MAX_IMAGES", "IMAGENET_MEAN", "IMAGENET_STD", "PREPROCESSING", "preprocessing",
           "LabelledImages", "preprocessed", "load_images", "caltech256", "require_caltech256", "digits_garments", "train_test_split"]

#: The image sets by name: the paper's, and the offline stand-in.
DATASETS = ("caltech256", "digits_garments")
#: Superclasses: fine label mod 10.
N_SUPERCLASSES = 10
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: The preprocessing, in words: part of a feature cache's key.
PREPROCESSING = "Resize(256) CenterCrop(224) grey->RGB ImageNet-normalised"
#: The stand-in's images by default (Caltech-256 has about 30,000): sized so that its features
#: (once) and its 20 probes each take under an hour on a 2-core machine with bf16 units
#: (benchmarks/bench/caltech_cost.py); without them the probes' products run in float32.
STANDIN_IMAGES = 18000
#: The most the stand-in can draw: the training sets of MNIST and Fashion-MNIST, 60,000 each.
STANDIN_MAX_IMAGES = 120000
#: The stand-in's fine classes: a digit and a garment per superclass.
STANDIN_SOURCES = ((MNIST, "MNIST", 0), (FashionMNIST, "FashionMNIST", 10))


def _three_channels(x: torch.Tensor) -> torch.Tensor:
    return x.repeat(3, 1, 1) if x.shape[0] == 1 else x


def preprocessing() -> transforms.Compose:
    """The paper's transform of a PIL image into a (3, 224, 224) tensor."""
    return transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                               transforms.Lambda(_three_channels), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


@dataclass(frozen=True)
class LabelledImages:
    """A set of images: ``images`` a dataset of (PIL image, fine label) pairs, ``fine``
    (n,) int64 its fine labels, ``name`` and ``description`` (what the page says)."""

    name: str
    description: str
    images: Dataset
    fine: torch.Tensor

    @property
    def superclass(self) -> torch.Tensor:
        """(n,) int64 in [0, 10): the fine label mod 10."""
        return self.fine % N_SUPERCLASSES


class _Transformed(Dataset):
    """``images`` with :func:`preprocessing` applied to each image."""

    def __init__(self, images: Dataset) -> None:
        self.images, self.transform = images, preprocessing()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image, label = self.images[i]
        return self.transform(image.convert("RGB") if image.mode not in ("L", "RGB") else image), label


def preprocessed(images: LabelledImages) -> Dataset:
    """The set as (3, 224, 224) tensors and fine labels."""
    return _Transformed(images.images)


def caltech256(root: str | os.PathLike[str] | None = None) -> LabelledImages:
    """torchvision's Caltech-256 (257 categories with clutter, 30,607 images) under
    ``<root>/caltech256/256_ObjectCategories``; never downloaded here (1.2 GB): a missing
    copy raises :class:`DatasetMissingError` at once, saying how to get it."""
    root = require_caltech256(root)
    data = Caltech256(str(root), download=False)
    return LabelledImages("caltech256", "Caltech-256 (257 categories, superclass = category mod 10)", data,
                          torch.as_tensor(data.y, dtype=torch.int64))


def require_caltech256(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root, when it holds Caltech-256; else :class:`DatasetMissingError`, saying
    what to fetch, where to put it, and which parameters select the stand-in."""
    root = data_root(root)
    folder = root / "caltech256" / "256_ObjectCategories"
    if not folder.is_dir():
        raise DatasetMissingError(
            f"Caltech-256 is not under {folder}. On a machine with a network, "
            f"`python -c \"from torchvision.datasets import Caltech256; Caltech256('{root}', download=True)\"` "
            f"fetches it (1.2 GB); or put the extracted 256_ObjectCategories/ there, or set PRELU_ROBUST_DATA "
            f"(the notebook parameter data_root) to a folder holding caltech256/. Without it, the stand-in runs "
            f"offline: -p dataset digits_garments -p backbone efficientnet_lite2.")
    return root


class _Grey(Dataset):
    """28 x 28 grey images (n, 28, 28) uint8 as PIL images, with their fine labels."""

    def __init__(self, pixels: torch.Tensor, fine: torch.Tensor) -> None:
        self.pixels, self.fine = pixels, fine

    def __len__(self) -> int:
        return len(self.fine)

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        return Image.fromarray(self.pixels[i].numpy(), mode="L"), int(self.fine[i])


def _gunzip(raw: Path) -> None:
    """Decompress the original files in ``raw`` beside their ``.gz``: torchvision then reads
    them without checking the archives' checksums (Debian's Fashion-MNIST archives are
    recompressed: other checksums, the original contents)."""
    for name in FILES:
        archive, target = raw / name, raw / name.removesuffix(".gz")
        if archive.is_file() and not target.is_file():
            write_atomically(target, lambda partial: _decompress(archive, partial))


def _decompress(archive: Path, target: Path) -> None:
    with gzip.open(archive) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)


def digits_garments(n_images: int, root: str | os.PathLike[str] | None = None, seed: int = 0) -> LabelledImages:
    """The offline stand-in: ``n_images`` training images, half real MNIST digits, half
    real Fashion-MNIST garments, drawn at random (``seed``) from each training set. Fine
    label: the digit d, or 10 + the garment g; superclass d (or g)."""
    require(isinstance(n_images, int) and 2 * N_SUPERCLASSES <= n_images <= STANDIN_MAX_IMAGES, "n_images", n_images,
            f"an integer in [{2 * N_SUPERCLASSES}, {STANDIN_MAX_IMAGES}]")
    root = data_root(root)
    pixels, fine = [], []
    for k, (dataset, folder, offset) in enumerate(STANDIN_SOURCES):
        copy_local_files(root / folder / "raw", folder)
        _gunzip(root / folder / "raw")
        try:
            data = dataset(str(root), train=True, download=True)
        except (OSError, RuntimeError) as err:
            raise DatasetMissingError(
                f"{folder} is not under {root / folder / 'raw'} and could not be downloaded ({err}). Put its four "
                f"original files there (the Debian package dataset-fashion-mnist has Fashion-MNIST's), or set "
                f"PRELU_ROBUST_DATA to a folder holding {folder}/raw/.") from None
        half = n_images // 2 + (n_images % 2 if k == 0 else 0)
        require(half <= len(data.targets), "n_images", n_images, f"at most {2 * len(data.targets)}")
        pick = torch.randperm(len(data.targets), generator=torch.Generator().manual_seed(seed + k))[:half]
        pixels.append(data.data[pick])
        fine.append(data.targets[pick].long() + offset)
    pixels_all, fine_all = torch.cat(pixels), torch.cat(fine)
    return LabelledImages("digits_garments", f"{n_images} real images, half MNIST digits and half Fashion-MNIST "
                          "garments (20 fine classes; superclass = the digit, or the garment's index)",
                          _Grey(pixels_all, fine_all), fine_all)


def load_images(dataset: str, n_images: int | None, root: str | os.PathLike[str] | None = None,
                seed: int = 0) -> LabelledImages:
    """The image set ``dataset`` (one of :data:`DATASETS`), ``n_images`` of them drawn at
    random (``seed``); None: all of Caltech-256, or :data:`STANDIN_IMAGES` of the stand-in."""
    require_choice("dataset", dataset, DATASETS)
    if dataset == "digits_garments":
        return digits_garments(n_images or STANDIN_IMAGES, root, seed)
    images = caltech256(root)
    if n_images is None:
        return images
    pick = torch.randperm(len(images.fine), generator=torch.Generator().manual_seed(seed))[:n_images]
    return LabelledImages(images.name, f"{images.description}, {n_images} drawn at random",
                          Subset(images.images, pick.tolist()), images.fine[pick])


def train_test_split(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's split of n images: ``random_split`` 0.8 / 0.2 with generator ``seed``;
    indices (n_train,), (n_test,)."""
    train, test = random_split(range(n), [0.8, 0.2], generator=torch.Generator().manual_seed(seed))
    return torch.as_tensor(train.indices), torch.as_tensor(test.indices)
