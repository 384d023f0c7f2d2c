"""The local worker processes of a sweep and of pages executed side by side.

They are spawned, not forked: a child forked after this process ran a multi-threaded torch
product inherits a dead OpenMP pool and hangs in its first parallel product. And they end
with the process that started them: a sweep killed by a signal it cannot catch (``kill``,
a scheduler's time limit) leaves no worker computing on, and writing into the store,
behind it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor

__all__ = ["process_pool"]

#: How often a worker looks whether its parent is still there.
PARENT_POLL_S = 1.0


def process_pool(workers: int, environment: Mapping[str, str] | None = None) -> ProcessPoolExecutor:
    """``workers`` spawned processes, each with ``environment`` set where the variable is
    not set already, each ending within :data:`PARENT_POLL_S` of this process's end."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                               initargs=(os.getpid(), dict(environment or {})))


def _start_worker(parent: int, environment: dict[str, str]) -> None:
    for name, value in environment.items():
        os.environ.setdefault(name, value)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="exit-with-parent").start()


def _exit_with_parent(parent: int) -> None:
    """An orphan is adopted by another process: its parent id changes."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)
