"""Files written whole or not at all, by any number of processes at once.

Caches of data and features are filled by whichever process needs them first; in a
sweep or a parallel book build, two may need the same file at the same time.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """``write(partial)`` into a file of this call's own beside ``target``, then rename it
    onto ``target``: a reader sees no file or a whole one, never a half-written one, and
    two writers of one target never write into the same file (each writes the same
    content; the last rename wins). ``partial`` keeps ``target``'s suffix (``np.save``
    would append ``.npy`` to any other)."""
    partial = target.with_name(f".{target.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial{target.suffix}")
    try:
        write(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
