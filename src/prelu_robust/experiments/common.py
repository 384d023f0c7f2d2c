"""What every experiment shares: profiles, overrides and seeds."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from ..progress import progress
from ..store import ResultsStore
from ..validation import reject_unknown, require, require_choice

C = TypeVar("C")
R = TypeVar("R")

PROFILES = ("ci", "paper")
"""``ci``: minutes on 2 CPU cores; ``paper``: the paper's exact settings.
``auto`` (notebooks only) picks ``paper`` when its results are stored, else ``ci``."""


def build_config(profiles: Mapping[str, C], profile: str, overrides: Mapping[str, Any]) -> C:
    """The profile's config with the non-None ``overrides`` replaced.

    Unknown override names and unknown profiles raise before any computation.
    """
    require_choice("profile", profile, list(profiles))
    base = profiles[profile]
    given = {k: v for k, v in overrides.items() if v is not None}
    reject_unknown(type(base).__name__, given, [f.name for f in dataclasses.fields(base)])
    for name, value in given.items():
        if isinstance(value, list):
            given[name] = tuple(value)
    return dataclasses.replace(base, **given)


def derive_seed(*parts: Any) -> int:
    """A 31-bit seed determined by ``parts`` (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little") >> 1


@dataclass
class SweepCost:
    """What a sweep's runs cost, as their store entries record it, and where the
    last one was computed."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    computed: int = 0
    total: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)


def sweep(store: ResultsStore, kind: str, runs: Sequence[R], settings_of: Callable[[R], dict[str, Any]],
          compute: Callable[[dict[str, Any]], dict[str, np.ndarray]], cost: SweepCost, *, force: bool = False,
          show_progress: bool = True) -> Iterator[tuple[R, dict[str, np.ndarray]]]:
    """Yield each run with its arrays, loaded from the store or computed and
    stored (``force``: recompute all); ``cost`` accumulates the entries' timings."""
    for item in progress(runs, desc="runs", enabled=show_progress):
        settings = settings_of(item)
        arrays, meta = store.get_or_compute(kind, settings, lambda: compute(settings), force=force)
        cost.wall_s += meta["wall_s"]
        cost.cpu_s += meta["cpu_s"]
        cost.computed += meta["computed_now"]
        cost.total += 1
        cost.provenance = {k: meta.get(k) for k in ("git_revision", "torch", "machine", "cpu_count", "date")}
        yield item, arrays


def shard_of(runs: Sequence[R], shard: tuple[int, int]) -> Sequence[R]:
    """Every ``shard[1]``-th run starting at ``shard[0]``: ``n`` processes with shards
    (0, n) ... (n-1, n) cover ``runs`` exactly once, with interleaved (balanced) costs."""
    index, count = shard
    require(isinstance(index, int) and isinstance(count, int) and 0 <= index < count, "shard", shard,
            "(index, count) with 0 <= index < count")
    return runs[index::count]
