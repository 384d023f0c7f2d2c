"""The precision of the engine's large matrix products, chosen per machine.

bf16 products are about twice as fast as float32 where the hardware has bf16 dot
products (AVX-512 BF16 or AMX on the CPU, bf16 tensor cores on a GPU) and several
times slower where it does not (AVX2-only CPUs emulate them). A setting of
``"auto"`` therefore becomes ``"bfloat16"`` only on hardware that has the units
*and* runs a bf16 product faster than a float32 one in a short timing, else
``"float32"``. A config holds the resolved name, so the store key and the banner
say which precision computed a run.
"""

from __future__ import annotations

import functools

import torch

from .device import cpu_flags, typical_product_seconds
from .validation import require_choice

__all__ = ["PRODUCT_DTYPES", "PRECISIONS", "AUTO", "BF16_FLAGS", "has_bf16_units", "machine_product_dtype",
           "resolve_product_dtype", "resolve_precision_fields"]

#: Precisions of the training (and attack) matrix products by name; "float32" and None
#: both keep the data's own float32 (None is what entries stored before "auto" say).
PRODUCT_DTYPES: dict[str, torch.dtype | None] = {"bfloat16": torch.bfloat16, "float32": None}
AUTO = "auto"
#: Every value a product-precision setting accepts.
PRECISIONS = (None, AUTO, *PRODUCT_DTYPES)
#: CPU flags (Linux /proc/cpuinfo names) of native bf16 dot products.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
#: A bf16 product must beat float32 by this factor to be chosen (noise margin).
_BF16_MIN_SPEEDUP = 1.2


@functools.cache
def machine_product_dtype(device_type: str = "cpu") -> str:
    """``"bfloat16"`` where ``device_type`` ("cpu" or "cuda") multiplies bf16 natively and
    faster than float32, else ``"float32"``. Computed once per process."""
    if device_type == "cuda":
        return "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
    if not has_bf16_units():
        return "float32"
    speedup = typical_product_seconds(torch.float32) / typical_product_seconds(torch.bfloat16)
    return "bfloat16" if speedup >= _BF16_MIN_SPEEDUP else "float32"


def has_bf16_units() -> bool:
    """Whether the CPU reports a native bf16 dot-product unit."""
    return bool(cpu_flags() & set(BF16_FLAGS))


def resolve_product_dtype(name: str | None, device_type: str | None = None) -> str | None:
    """``name`` with ``"auto"`` replaced by :func:`machine_product_dtype` of ``device_type``
    (None: CUDA when available, else the CPU); other values are checked and returned."""
    require_choice("product_dtype", name, PRECISIONS)
    if name != AUTO:
        return name
    if device_type is None:
        device_type = "cuda" if torch.cuda.is_available() else "cpu"
    return machine_product_dtype(device_type)


def resolve_precision_fields(config: object, *names: str) -> None:
    """In a (frozen) dataclass's ``__post_init__``: check each precision field ``names``
    and replace ``"auto"`` by this machine's precision."""
    for name in names:
        require_choice(name, getattr(config, name), PRECISIONS)
        object.__setattr__(config, name, resolve_product_dtype(getattr(config, name)))
