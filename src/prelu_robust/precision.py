"""The precision of the engine's large matrix products, chosen per machine.

bf16 products are about twice as fast as float32 where the hardware has bf16 dot
products (AVX-512 BF16 or AMX on the CPU, bf16 tensor cores on a GPU). Where it does
not, torch emulates them several times slower than float32; :func:`bf16_product`
then multiplies the bf16 values in float32 instead (the same products, exact in
float32, summed in another order), at float32's speed. A setting of ``"auto"``
becomes ``"bfloat16"`` only on hardware that has the units *and* runs a bf16 product
faster than a float32 one in a short timing, else ``"float32"``. A config holds the
resolved name, so the store key and the banner say which precision computed a run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from .device import cpu_flags, typical_product_seconds
from .validation import require_choice

__all__ = ["PRODUCT_DTYPES", "PRECISIONS", "AUTO", "BF16_FLAGS", "has_bf16_units", "bf16_product", "machine_product_dtype",
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


@functools.cache
def has_bf16_units() -> bool:
    """Whether the CPU reports a native bf16 dot-product unit."""
    return bool(cpu_flags() & set(BF16_FLAGS))


def bf16_product(product: Callable[..., torch.Tensor], *operands: torch.Tensor) -> torch.Tensor:
    """``product(*operands)`` (a matrix product: ``torch.matmul``, ``nn.functional.linear``)
    of bf16 ``operands``, in bf16: as given on a GPU or a CPU with bf16 units, else on
    the operands' float32 values, rounded to bf16. A product of two bf16 numbers is exact
    in float32 and both ways sum in float32, so the two differ only in the order of
    summation (a bf16 rounding apart in about 1 output in 10^4), and the second runs at
    float32's speed where torch's own emulation is 3-80x slower
    (``benchmarks/reports/RESULTS_BF16_PRODUCTS*.md``). Operands of another dtype are
    multiplied as given."""
    if any(t.dtype != torch.bfloat16 for t in operands) or operands[0].device.type != "cpu" or has_bf16_units():
        return product(*operands)
    return product(*(t.float() for t in operands)).to(torch.bfloat16)


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
