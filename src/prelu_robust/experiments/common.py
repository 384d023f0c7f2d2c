"""What every experiment shares: profiles, overrides, grids, seeds and the sweep over
an experiment's runs."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from ..device import resolve_device
from ..precision import AUTO, PRODUCT_DTYPES
from ..progress import log_run, progress
from ..store import ResultsStore
from ..validation import check_fields, check_type, reject_unknown, require, require_choice

__all__ = ["PROFILES", "RUNNER_PARAMETERS", "check_parameters", "grid", "build_config", "resolve_profile", "stored_paper_config", "notebook_overrides",
           "derive_seed", "PowerRun", "Run", "SweepCost", "coordinates", "describe", "sweep", "all_stored", "shard_of"]

C = TypeVar("C")
R = TypeVar("R", bound="Run")

PROFILES = ("ci", "paper")
"""``ci``: minutes on 2 CPU cores; ``paper``: the paper's exact settings.
``auto`` (notebooks only) picks ``paper`` when its results are stored, else ``ci``."""


#: Notebook parameters that choose how a page runs, not what it computes, with their types.
RUNNER_PARAMETERS = {"profile": str, "device": str, "force": bool, "data_root": str | None}


def check_parameters(profiles: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A notebook's parameters ``values`` checked as its experiment will use them, before
    any computation: the runner's and each setting's type (a lone value stands for a list
    of one), then the whole config of the chosen profile (``auto``: of both). Returns the
    values as the notebook should receive them; raises :class:`ParameterError`."""
    config_type = type(next(iter(profiles.values())))
    values = check_fields(config_type, values)
    for name, kind in RUNNER_PARAMETERS.items():
        if name in values:
            values[name] = check_type(name, values[name], kind)
    profile = values.get("profile", "auto")
    require_choice("profile", profile, ["auto", *profiles])
    if "device" in values:
        resolve_device(values["device"])
    settings = {k: v for k, v in values.items() if k not in RUNNER_PARAMETERS}
    for name in (profiles if profile == "auto" else [profile]):
        build_config(profiles, name, settings)
    return values


def grid(start: float, stop: float, num: int) -> tuple[float, ...]:
    """``linspace(start, stop, num)`` rounded to 12 decimals, as a tuple: the same
    floats on every machine, so store keys that hold a grid are stable."""
    return tuple(round(float(v), 12) for v in np.linspace(start, stop, num))


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


def resolve_profile(profiles: Mapping[str, C], profile: str, is_complete: Callable[[C], bool],
                    overrides: Mapping[str, Any], precision_fields: Sequence[str] = (),
                    stored_alternatives: Mapping[str, Sequence[Any]] | None = None) -> tuple[str, C]:
    """The profile and its config; ``auto`` picks ``paper`` when ``is_complete`` says
    that all its runs are stored, else ``ci``.

    A product precision (one of ``precision_fields``) not set by ``overrides`` is this
    machine's (:mod:`prelu_robust.precision`), except where the ``paper`` runs are stored
    complete at another precision: those are read, so that a reader on any CPU renders the
    committed (bf16) store; recomputing them (``force``) on this machine keeps that precision.
    Likewise a field of ``stored_alternatives`` not set by ``overrides`` takes one of its
    listed values where the paper runs are stored complete with it and not with the profile's.
    """
    if profile in ("auto", "paper"):
        paper = stored_paper_config(profiles, is_complete, overrides, precision_fields, stored_alternatives)
        if paper is not None:
            return "paper", paper
        if profile == "auto":
            profile = "ci"
    return profile, build_config(profiles, profile, overrides)


def stored_paper_config(profiles: Mapping[str, C], is_complete: Callable[[C], bool], overrides: Mapping[str, Any],
                        precision_fields: Sequence[str] = (),
                        stored_alternatives: Mapping[str, Sequence[Any]] | None = None) -> C | None:
    """The ``paper`` config with ``overrides`` whose runs are all stored: with this machine's
    precision and the profile's settings if so, else with the first other choice of the free
    ``precision_fields`` (any product precision) and ``stored_alternatives`` fields (their
    listed values) that is; None when none is complete."""
    machine = build_config(profiles, "paper", overrides)
    if is_complete(machine):
        return machine
    choices = {name: PRODUCT_DTYPES for name in precision_fields if overrides.get(name) in (None, AUTO)}
    for name, values in (stored_alternatives or {}).items():
        if overrides.get(name) is None:
            choices[name] = (getattr(machine, name), *values)
    for choice in itertools.product(*choices.values()):
        candidate = build_config(profiles, "paper", {**overrides, **dict(zip(choices, choice))})
        if candidate != machine and is_complete(candidate):
            return candidate
    return None


def notebook_overrides(namespace: Mapping[str, Any], config_type: type) -> dict[str, Any]:
    """The values in ``namespace`` (a notebook's globals) of every field of the dataclass
    ``config_type``: what a parameters cell passes on without naming each one again.
    Raises when the namespace lacks a field (a setting that the notebook does not offer)."""
    names = [f.name for f in dataclasses.fields(config_type)]
    missing = [name for name in names if name not in namespace]
    require(not missing, "notebook parameters", missing,
            f"a parameter per field of {config_type.__name__} (add them to the parameters cell)")
    return {name: namespace[name] for name in names}


def derive_seed(*parts: Any) -> int:
    """A 31-bit seed determined by ``parts`` (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little") >> 1


@dataclass
class SweepCost:
    """What a sweep's runs cost, as their store entries record it (``wall_s``, ``cpu_s``),
    how many there are (``total``) and were computed now (``computed``), and where the
    last one was computed (``provenance``) and into which store (``store``)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    computed: int = 0
    total: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)
    store: str = ""  # the folder the computed runs were written to


@dataclass(frozen=True)
class PowerRun:
    """A run of an experiment at one exponent ``p`` of its ``config.powers``."""

    config: Any
    p: float

    @property
    def power_index(self) -> int:
        return self.config.powers.index(self.p)

    def config_settings(self, *spanning: str) -> dict[str, Any]:
        """The config's fields less those that span the runs (grids, repeats, the seed,
        which enters through a derived seed), with this run's ``p``."""
        settings = dataclasses.asdict(self.config)
        for name in spanning:
            settings.pop(name)
        settings["p"] = float(self.p)
        return settings


class Run(Protocol):
    """One store entry's worth of work: a frozen dataclass whose ``settings()`` are its store key."""

    def settings(self) -> dict[str, Any]: ...


def coordinates(run: Run) -> dict[str, float]:
    """A run's coordinates in its figure: those of ``p``, ``alpha`` and ``repeat`` it has."""
    inner = getattr(run, "run", run)  # a run that wraps another (the attack variants)
    return {name: getattr(inner, name) for name in ("p", "alpha", "repeat") if hasattr(inner, name)}


def describe(run: Run) -> str:
    """A run's coordinates, for a log line: ``p=3, alpha=0.01, repeat=0``."""
    return ", ".join(f"{name}={value:g}" for name, value in coordinates(run).items()) or type(run).__name__


def sweep(store: ResultsStore, kind: str, runs: Sequence[R], compute: Callable[[R], dict[str, np.ndarray]],
          cost: SweepCost, *, force: bool = False, show_progress: bool = True) -> Iterator[tuple[R, dict[str, np.ndarray]]]:
    """Yield each run (a :class:`Run`) with its arrays, loaded from the store or computed
    and stored (``force``: recompute all); ``cost`` accumulates the entries' timings."""
    for index, run in enumerate(progress(runs, desc="runs", enabled=show_progress), 1):
        arrays, meta = store.get_or_compute(kind, run.settings(), lambda: compute(run), force=force)
        log_run(kind, index, len(runs), describe(run), meta["wall_s"], meta["computed_now"])
        cost.wall_s += meta["wall_s"]
        cost.cpu_s += meta["cpu_s"]
        cost.computed += meta["computed_now"]
        cost.total += 1
        cost.store = str(store.root)
        cost.provenance = {k: meta.get(k) for k in ("git_revision", "torch", "machine", "cpu_count", "date")}
        yield run, arrays


def all_stored(store: ResultsStore, kind: str, runs: Sequence[Run]) -> bool:
    """Whether every run is in the store."""
    return all(store.has(kind, run.settings()) for run in runs)


def shard_of(runs: Sequence[R], shard: tuple[int, int]) -> Sequence[R]:
    """Every ``shard[1]``-th run starting at ``shard[0]``: ``n`` processes with shards
    (0, n) ... (n-1, n) cover ``runs`` exactly once, with interleaved (balanced) costs."""
    index, count = shard
    require(isinstance(index, int) and isinstance(count, int) and 0 <= index < count, "shard", shard,
            "(index, count) with 0 <= index < count")
    return runs[index::count]
