"""A frozen backbone's features of an image set, extracted once and cached on disk.

The cache (git-ignored, under the data root: ``<data root>/features/<key>/``) is keyed by
the image set (its name, description and fine labels), the backbone and its weights, and
the preprocessing. Extraction runs in chunks of :data:`CHUNK` images, each saved as it is
done: an interrupted extraction resumes at its first missing chunk, and a complete cache
loads without the backbone (or its weights) at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from .atomic import write_atomically
from .backbones import BACKBONES, load_backbone
from .data.images import PREPROCESSING, LabelledImages, preprocessed
from .data.mnist import data_root
from .progress import log_run, progress
from .validation import require_choice

__all__ = ["CHUNK", "BATCH", "Features", "cache_folder", "extract"]

#: Images per saved chunk of the cache: the most an interruption loses.
CHUNK = 500
#: Images per backbone forward pass.
BATCH = 50


@dataclass(frozen=True)
class Features:
    """``x`` (n, dim) float32, the features of the images in order; ``cpu_s`` the CPU
    seconds the extraction took (as the cache recorded it) and ``extracted`` the chunks
    this call computed (0: all loaded)."""

    x: torch.Tensor
    cpu_s: float
    extracted: int
    folder: Path


def cache_folder(images: LabelledImages, backbone: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Where the features of ``images`` by ``backbone`` are cached."""
    b = BACKBONES[backbone]
    key = {"images": images.name, "description": images.description, "n": len(images.fine),
           "fine_labels": hashlib.sha256(images.fine.numpy().astype(np.int64).tobytes()).hexdigest(),
           "backbone": b.name, "weights": b.weights, "preprocessing": PREPROCESSING}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return data_root(root) / "features" / f"{images.name}-{backbone}-{digest}"


def extract(images: LabelledImages, backbone: str, root: str | os.PathLike[str] | None = None, *,
            show_progress: bool = True) -> Features:
    """The features (n, dim) of ``images`` by ``backbone``, from the cache or extracted
    now (on this process's torch threads) chunk by chunk."""
    require_choice("backbone", backbone, list(BACKBONES))
    folder = cache_folder(images, backbone, root)
    folder.mkdir(parents=True, exist_ok=True)
    meta_file = folder / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {"cpu_s": {}}
    n, chunks, net, extracted = len(images.fine), [], None, 0
    n_chunks = -(-n // CHUNK)
    dataset = preprocessed(images)
    for c in progress(range(n_chunks), desc=f"{backbone} features", enabled=show_progress):
        path = folder / f"chunk_{c:05d}.npy"
        if not path.is_file():
            net = net or load_backbone(backbone)  # only when something is missing
            wall, cpu = time.perf_counter(), time.process_time()
            rows = range(c * CHUNK, min(n, (c + 1) * CHUNK))
            with torch.inference_mode():
                out = [net(batch) for batch, _ in DataLoader(Subset(dataset, rows), batch_size=BATCH)]
            array = torch.cat(out).float().numpy()
            write_atomically(path, lambda partial: np.save(partial, array))  # a chunk is whole or absent
            meta["cpu_s"][str(c)] = time.process_time() - cpu
            text = json.dumps({**meta, "backbone": backbone, "images": images.description}, indent=1)
            write_atomically(meta_file, lambda partial: partial.write_text(text))
            extracted += 1
            log_run("features", c + 1, n_chunks, f"{backbone}, images {rows.start}-{rows.stop - 1}",
                    time.perf_counter() - wall, True)
        chunks.append(np.load(path))
    x = torch.from_numpy(np.concatenate(chunks))
    return Features(x, float(sum(meta["cpu_s"].values())), extracted, folder)
