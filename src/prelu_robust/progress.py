"""Progress bars that stay readable in CI logs.

``tqdm`` reads ``TQDM_MININTERVAL`` (and other ``TQDM_*`` variables) from the
environment, so the Makefile quiets CI logs without any code here knowing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

__all__ = ["progress"]

T = TypeVar("T")


def progress(iterable: Iterable[T], desc: str, total: int | None = None, enabled: bool = True,
             leave: bool = False) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar unless ``enabled`` is false."""
    return tqdm(iterable, desc=desc, total=total, disable=not enabled, leave=leave, dynamic_ncols=True)
