"""Progress that behaves: bars in an interactive notebook or terminal, one line per
run under the book's driver.

``tqdm`` reads ``TQDM_MININTERVAL`` (and other ``TQDM_*`` variables) from the
environment, so the Makefile quiets CI logs without any code here knowing. The papermill
driver (:mod:`prelu_robust.run_notebook`) sets :data:`RUN_LOG_ENV` for its kernels:
they draw no bars (nothing of them in the saved notebook) and print one line per run
to the driver's terminal instead (:func:`log_run`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

__all__ = ["RUN_LOG_ENV", "logging_runs", "progress", "log_run"]

T = TypeVar("T")

#: Set to 1 by the driver: one line per run on the terminal, no progress bars.
RUN_LOG_ENV = "PRELU_ROBUST_RUN_LOG"


def logging_runs() -> bool:
    """Whether this process runs under the driver (see the module docstring)."""
    return os.environ.get(RUN_LOG_ENV) == "1"


def progress(iterable: Iterable[T], desc: str, total: int | None = None, enabled: bool = True,
             leave: bool = False) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar unless ``enabled`` is false or runs are logged instead."""
    return tqdm(iterable, desc=desc, total=total, disable=not enabled or logging_runs(), leave=leave,
                dynamic_ncols=True)


def log_run(kind: str, index: int, total: int, what: str, seconds: float, computed: bool) -> None:
    """One line for run ``index`` of ``total`` when runs are logged: on the process's own
    stderr, which a kernel shares with the driver (the notebook's stderr is captured)."""
    if logging_runs():
        how = f"computed in {seconds:.0f} s" if computed else "loaded"
        print(f"[{kind} {index}/{total}] {what}: {how}", file=sys.__stderr__, flush=True)
