"""Where computations run: a ``device`` setting and a measured CPU thread count."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator

import torch

from .validation import require


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device={device!r}: use 'auto', 'cpu' or 'cuda[:i]'") from err
    require(resolved.type != "cuda" or torch.cuda.is_available(), "device", device,
            "'auto' or 'cpu': CUDA is not available on this machine")
    return resolved


def compute_device(device: str = "auto") -> torch.device:
    """:func:`resolve_device`, with the CPU thread count chosen by measurement."""
    resolved = resolve_device(device)
    if resolved.type == "cpu":
        choose_num_threads()
    return resolved


@functools.cache
def choose_num_threads(max_threads: int | None = None) -> int:
    """Time the workload's typical matrix product at each thread count and keep
    the fastest (on a busy 2-core machine one thread often wins). Sets it."""
    max_threads = max_threads or os.cpu_count() or 1
    a, b = torch.randn(256, 1000), torch.randn(1000, 1000)
    timings = {}
    for threads in sorted({1, max_threads}):
        torch.set_num_threads(threads)
        a @ b
        start = time.perf_counter()
        for _ in range(20):
            a @ b
        timings[threads] = time.perf_counter() - start
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
