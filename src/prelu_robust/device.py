"""Where computations run: a ``device`` setting, a measured CPU thread count and
an allocator that keeps freed memory."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from .validation import ParameterError, require

__all__ = ["resolve_device", "compute_device", "keep_freed_memory", "best_seconds", "TYPICAL_PRODUCT",
           "typical_product_seconds", "float32_gflops", "choose_num_threads", "pin_num_threads", "THREADS_ENV", "num_threads",
           "cpu_description", "cpu_flags"]

#: CPU flags that decide which matrix kernels are fast (bf16 products need avx512_bf16 or amx).
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def _cpuinfo() -> tuple[str | None, frozenset[str]]:
    """The CPU's model name and feature flags from /proc/cpuinfo (Linux; elsewhere none)."""
    model, flags = None, frozenset()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = frozenset(value.split())
                break
    return model, flags


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (/proc/cpuinfo names; empty where unknown)."""
    return _cpuinfo()[1]


def cpu_description() -> str:
    """The CPU's model name and its speed-relevant flags (from /proc/cpuinfo on Linux), for
    benchmark reports: a speed measured on one CPU says little about another."""
    model, flags = _cpuinfo()
    model = model or platform.processor() or platform.machine()
    present = [flag for flag in SPEED_FLAGS if flag in flags]
    return f"{model} ({', '.join(present) or 'none of ' + ', '.join(SPEED_FLAGS)}; {os.cpu_count()} CPUs)"


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ParameterError(f"unknown device={device!r}: choose 'auto', 'cpu' or 'cuda[:i]'.") from err
    require(resolved.type != "cuda" or torch.cuda.is_available(), "device", device,
            "'auto' or 'cpu': CUDA is not available on this machine")
    return resolved


_pinned_threads: int | None = None

#: Torch threads per process, when set: no measurement. The driver sets it for the kernels
#: of pages it executes side by side (each its share of the cores).
THREADS_ENV = "PRELU_ROBUST_THREADS"


def pin_num_threads(threads: int) -> None:
    """Use ``threads`` torch threads in this process from now on, and measure no other
    count (:func:`compute_device`): a sweep's worker processes, as many as cores, take one
    each; a measurement made while the other workers start may pick more, which then
    crowd each other out."""
    global _pinned_threads
    _pinned_threads = threads
    torch.set_num_threads(threads)


def compute_device(device: str = "auto") -> torch.device:
    """:func:`resolve_device`, with the CPU thread count chosen by measurement (unless
    pinned, or set by ``$PRELU_ROBUST_THREADS``)."""
    resolved = resolve_device(device)
    if resolved.type == "cpu":
        if _pinned_threads is None and os.environ.get(THREADS_ENV):
            pin_num_threads(_threads_from_environment())
        if _pinned_threads is None:
            choose_num_threads()
        keep_freed_memory()
    return resolved


def _threads_from_environment() -> int:
    text = os.environ[THREADS_ENV]
    if not text.isdigit() or int(text) < 1:
        raise ParameterError(f"${THREADS_ENV}={text!r}: set it to a positive integer (torch threads per process), "
                             "or unset it to let each process measure the fastest count.")
    return int(text)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 << 20  # the largest glibc accepts on 64-bit systems
_TRIM_THRESHOLD = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse (Linux only; elsewhere a no-op).

    By default every array above 128 KiB is a fresh ``mmap``, returned to the OS
    when freed, so each training or attack step page-faults its temporaries
    again, which costs about as much as the matrix product that fills it (the README's
    engine section gives the measured gain). Allocations up to 32 MiB
    now come from the heap, and up to 1 GiB of freed heap is kept. The
    arithmetic is unchanged (results are bit-identical); the process keeps its
    peak memory. Returns whether the settings were applied.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False
    applied = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    return bool(applied)


def best_seconds(call: Callable[[], object], repeats: int = 10) -> float:
    """The shortest of ``repeats`` wall-clock times of ``call()``, after one untimed call."""
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


#: The training step's typical product, (m, k) @ (k, n): what the machine's speed is measured on.
TYPICAL_PRODUCT = (256, 1000, 1000)


def typical_product_seconds(dtype: torch.dtype = torch.float32, repeats: int = 10) -> float:
    """:func:`best_seconds` of the typical product (:data:`TYPICAL_PRODUCT`) in ``dtype``,
    on the CPU's current torch threads."""
    m, k, n = TYPICAL_PRODUCT
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    return best_seconds(lambda: a @ b, repeats)


def float32_gflops() -> float:
    """This machine's speed now: the typical product's float32 GFLOP/s on the current
    torch threads (a shared VM's drifts by tens of percent within hours)."""
    m, k, n = TYPICAL_PRODUCT
    return 2 * m * k * n / typical_product_seconds(torch.float32, repeats=20) / 1e9


@functools.cache
def choose_num_threads(max_threads: int | None = None) -> int:
    """Time the workload's typical product (:func:`typical_product_seconds`) at each thread
    count and keep the fastest (on a busy 2-core machine one thread often wins). Sets it."""
    max_threads = max_threads or os.cpu_count() or 1
    timings = {}
    for threads in sorted({1, max_threads}):
        torch.set_num_threads(threads)
        timings[threads] = typical_product_seconds()
    best = min(timings, key=timings.get)
    torch.set_num_threads(best)
    return best


@contextlib.contextmanager
def num_threads(threads: int) -> Iterator[None]:
    """Run a block with ``threads`` torch threads (one is fastest for tiny matrices:
    more threads only spin, and crawl when another process holds a core)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
