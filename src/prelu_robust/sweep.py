"""Papermill parameter sweeps: a YAML file, its points, their runs computed once on an
executor, then each point's page.

    prelu-robust sweep run sweeps/NAME.yaml [--executor local|inline|dask|tcp://HOST:8786] [--workers N]
    prelu-robust sweep run notebooks/synthetic_gmm.py -p profile ci -a powers=[1],[3] -a n_clusters=4,8
    prelu-robust sweep status sweeps/NAME.yaml
    prelu-robust sweep aggregate sweeps/NAME.yaml [--out FILE.csv]

A sweep file names a figure notebook, the parameters every point shares, and the
parameters that vary: ``axes`` are crossed (cartesian product), ``zip`` varies its
parameters together (equal lengths), crossed with the axes::

    notebook: notebooks/synthetic_gmm.py
    parameters: {profile: ci, alphas: [0.01], repeats: 3}
    axes:
      powers: [[1], [2], [3]]
    zip:
      n_clusters: [4, 8]
      n_positive: [2, 4]

The heavy work is the runs (store entries), not the notebooks: every point is checked
before anything runs, its runs are listed, runs shared by several points are computed
once, on worker processes (``local``) or a Dask cluster (``dask``: a local one;
``tcp://...``: the scheduler of an existing one, whose workers need no shared
filesystem: they return the arrays and this process writes the store). Then each
point's notebook is executed with papermill, loading everything from the store. A run
that fails is reported with its settings at the end, the others finish, and the points
that need it are not executed; the command then exits non-zero. Runs already stored are
skipped, so a sweep that was stopped resumes. Ctrl-C starts no new run and stores the
running ones when they finish (a second Ctrl-C stops at once); nothing stored is lost.
"""

from __future__ import annotations

import ast
import csv
import importlib
import itertools
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import paths
from .experiments import EXPERIMENTS
from .experiments.common import RUNNER_PARAMETERS, coordinates, describe
from .device import pin_num_threads
from .progress import RUN_LOG_ENV
from .run_notebook import checked_parameters, execute, parse_value, read_notebook
from .store import COMMITTED_PROFILES, ResultsStore, committed_store, computed_meta, default_store
from .validation import ParameterError, reject_unknown, require
from .workers import process_pool

__all__ = ["SWEEP_KEYS", "Sweep", "load", "from_arguments", "checked", "PointRuns", "point_runs", "SweepReport", "run", "pages_folder", "status", "tidy_rows",
           "table_path", "aggregate", "EXECUTORS", "CURVE_PREFIXES", "EXECUTED"]

#: The keys of a sweep file (``question``: what the sweep asks, in a sentence, for its page).
SWEEP_KEYS = ("notebook", "question", "parameters", "axes", "zip")
#: The executors by name (besides a Dask scheduler's address, ``tcp://HOST:PORT``).
EXECUTORS = ("local", "inline", "dask")
#: The arrays of an entry indexed by the radii of the config's ``eps_grid`` (robust accuracy
#: curves) are named with one of these prefixes.
CURVE_PREFIXES = ("robust_", "ideal_")
#: Where the executed notebooks of a sweep go: ``<EXECUTED>/<sweep name>/<point>.ipynb``.
EXECUTED = paths.EXECUTED / "sweeps"


@dataclass(frozen=True)
class Sweep:
    """A sweep file: its ``name`` (the file's stem), ``notebook``, the ``parameters`` all
    points share, the ``axes`` (crossed) and ``zipped`` (varied together) values, and the
    ``question`` it asks."""

    name: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list] = field(default_factory=dict)
    zipped: dict[str, list] = field(default_factory=dict)
    question: str = ""

    def points(self) -> list[dict[str, Any]]:
        """Every point's parameters: the shared ones, then one value of each axis (the last
        axis varying fastest), then one position of the zipped values."""
        crossed = [dict(zip(self.axes, values)) for values in itertools.product(*self.axes.values())]
        together = [dict(zip(self.zipped, values)) for values in zip(*self.zipped.values())] or [{}]
        return [{**self.parameters, **a, **z} for a in crossed for z in together]


def load(path: str | os.PathLike[str]) -> Sweep:
    """The sweep of a YAML file, with every point checked as the driver checks a notebook's
    parameters; raises :class:`ParameterError` naming the offending key before anything runs."""
    path = Path(path)
    require(path.is_file(), "sweep file", str(path), "an existing YAML file (see sweeps/)")
    spec = yaml.safe_load(path.read_text()) or {}
    require(isinstance(spec, dict), "sweep file", str(path), "a mapping with the keys " + ", ".join(SWEEP_KEYS))
    reject_unknown(f"sweep file {path.name}", spec, SWEEP_KEYS)
    return checked(path.stem, spec)


def from_arguments(notebook: str, parameters: Mapping[str, str], axes: Sequence[str]) -> Sweep:
    """A quick grid from the command line: ``parameters`` as the driver's ``-p NAME VALUE``,
    each axis ``NAME=V1,V2,...`` (values as Python literals: ``powers=[1],[3]``)."""
    grid = {}
    for axis in axes:
        name, sep, values = axis.partition("=")
        require(bool(sep) and bool(name) and bool(values), "axis", axis, "NAME=VALUE1,VALUE2,...")
        grid[name] = _values(values)
    spec = {"notebook": notebook, "parameters": {k: parse_value(v) for k, v in parameters.items()}, "axes": grid}
    return checked(f"{Path(notebook).stem}-{'-'.join(grid) or 'point'}", spec)


def _values(text: str) -> list[Any]:
    """``V1,V2,...`` as a list: one Python literal tuple when it parses, else split on commas."""
    try:
        parsed = ast.literal_eval(f"({text},)")
        return list(parsed)
    except (ValueError, SyntaxError):
        return [parse_value(item) for item in text.split(",")]


def checked(name: str, spec: Mapping[str, Any]) -> Sweep:
    """The sweep ``name`` of a spec (the keys of a sweep file), every point checked."""
    require("notebook" in spec, "notebook", None, "the path of a figure notebook, e.g. notebooks/synthetic_gmm.py")
    for key in ("parameters", "axes", "zip"):
        require(isinstance(spec.get(key, {}), dict), key, spec.get(key), "a mapping of parameter names")
    axes, zipped = dict(spec.get("axes") or {}), dict(spec.get("zip") or {})
    for key, values in {**axes, **zipped}.items():
        require(isinstance(values, list) and len(values) > 0, key, values, "a non-empty list of values")
    lengths = {len(values) for values in zipped.values()}
    require(len(lengths) <= 1, "zip", {k: len(v) for k, v in zipped.items()}, "lists of one common length")
    overlap = (set(axes) & set(zipped)) | ((set(axes) | set(zipped)) & set(spec.get("parameters") or {}))
    require(not overlap, "sweep parameter", sorted(overlap), "each parameter in one of parameters, axes, zip")
    require(isinstance(spec.get("question", ""), str), "question", spec.get("question"), "a sentence")
    sweep = Sweep(name, str(spec["notebook"]), dict(spec.get("parameters") or {}), axes, zipped,
                  str(spec.get("question", "")).strip())
    source = paths.CHECKOUT / sweep.notebook
    require(source.name in EXPERIMENTS and source.resolve().parent == paths.NOTEBOOKS.resolve(), "notebook", sweep.notebook,
            "a figure notebook: " + ", ".join(f"notebooks/{name}" for name in EXPERIMENTS))
    nb = read_notebook(source)
    for point in sweep.points():
        checked_parameters(source, nb, point)
    return sweep


@dataclass(frozen=True)
class PointRuns:
    """A point's experiment module, profile, config, store, and the entries its page reads
    as (kind, run) pairs (the experiment's ``stored_runs``)."""

    experiment: Any
    profile: str
    config: Any
    store: ResultsStore
    runs: list[tuple[str, Any]]

    def key(self, kind: str, one: Any) -> tuple[str, str, str]:
        """What identifies an entry across points: its store, kind and key."""
        return str(self.store.root), kind, self.store.path(kind, one.settings()).name


def point_runs(sweep: Sweep, point: Mapping[str, Any], store: ResultsStore | None = None) -> PointRuns:
    """What executing the point's notebook needs from the store (``store``: instead of the
    profile's default store)."""
    source = paths.CHECKOUT / sweep.notebook
    values = checked_parameters(source, read_notebook(source), dict(point))
    experiment = EXPERIMENTS[source.name]
    settings = {k: v for k, v in values.items() if k not in RUNNER_PARAMETERS}
    profile, config = experiment.resolve_profile(values.get("profile", "auto"), **settings)
    return PointRuns(experiment, profile, config, store or default_store(profile), experiment.stored_runs(config))


def _compute(module: str, kind: str, run: Any, store: ResultsStore) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """On a worker: one run's arrays and its entry's metadata (one torch thread per worker);
    ``store`` holds what a run caches (MNIST's trained models), on the worker's filesystem."""
    pin_num_threads(1)
    experiment = importlib.import_module(module)
    wall, cpu = time.perf_counter(), time.process_time()
    arrays = experiment.compute_entry(kind, run, store)
    return arrays, computed_meta(kind, time.perf_counter() - wall, time.process_time() - cpu)


def _longest_first(need: PointRuns, kind: str, one: Any) -> tuple[bool, bool]:
    """A sort key putting the runs that take longest first: entries of another kind than
    the experiment's own runs (attack variants), then attacked runs."""
    return kind == need.experiment.KIND, not getattr(getattr(one, "run", one), "attacked", False)


@dataclass
class SweepReport:
    """What :func:`run` did: runs computed and already stored, the failures (settings and
    error), the executed notebooks, and whether it was interrupted (Ctrl-C)."""

    computed: int = 0
    stored: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    notebooks: list[Path] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    interrupted: bool = False


def _executor(spec: str, workers: int):
    """A concurrent.futures-style executor: worker processes (``local``), this process one
    run at a time (``inline``, for debugging), a local Dask cluster (``dask``) or an existing
    Dask scheduler (``tcp://host:port``); and what to close afterwards."""
    if spec in ("local", "inline"):
        executor = process_pool(workers) if spec == "local" else ThreadPoolExecutor(1)
        return executor, executor.shutdown
    from distributed import Client, LocalCluster  # only a Dask sweep needs Dask

    if spec != "dask":
        client = Client(spec)
        return client.get_executor(retries=2, pure=False), client.close
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
    client = Client(cluster)

    def close() -> None:
        """The client, then its cluster: closing the client alone leaves the worker processes running."""
        client.close()
        cluster.close()

    return client.get_executor(retries=2, pure=False), close


def run(sweep: Sweep, *, executor: str = "local", workers: int = 2, out: Path | None = None,
        execute_notebooks: bool = True, store: ResultsStore | None = None, commit: bool = False) -> SweepReport:
    """Compute the sweep's missing runs once each, then execute each point's notebook into
    ``out`` (default ``executed/sweeps/<name>/``). ``store``: where the runs go instead of
    each point's default store (the pages then cannot be executed: they read the default).
    ``commit``: computed runs go to their profile's committed store (which the default
    store of a committed profile also reads)."""
    require(store is None or not execute_notebooks, "store", store, "None when the pages are executed")
    require(executor in EXECUTORS or executor.startswith("tcp://"), "executor", executor,
            ", ".join(f"'{e}'" for e in EXECUTORS) + " or a Dask scheduler address tcp://HOST:PORT")
    require(isinstance(workers, int) and workers >= 1, "workers", workers, "an integer >= 1")
    points = sweep.points()
    needs = [point_runs(sweep, point, store) for point in points]
    for need in needs if commit else ():
        require(need.profile in COMMITTED_PROFILES, "profile", need.profile,
                f"a committed profile ({', '.join(COMMITTED_PROFILES)}) with --commit")
    missing: dict[tuple[str, str, str], tuple[PointRuns, str, Any]] = {}
    report = SweepReport()
    for need in needs:
        for kind, one in need.runs:
            if need.store.has(kind, one.settings()):
                report.stored += 1
            else:
                missing.setdefault(need.key(kind, one), (need, kind, one))
    failed: set[tuple[str, str, str]] = set()
    if missing:
        pool, close = _executor(executor, workers)
        try:
            # the longest first (attack variants, then attacked runs): no long run left for the end alone
            order = sorted(missing.items(), key=lambda item: _longest_first(*item[1]))
            futures: dict[Future, tuple[tuple[str, str, str], PointRuns, str, Any]] = {
                pool.submit(_compute, need.experiment.__name__, kind, one, need.store): (key, need, kind, one)
                for key, (need, kind, one) in order}
            done = 0

            def keep(future: Future) -> None:
                """Store a finished run's arrays, or record its failure."""
                nonlocal done
                done += 1
                key, need, kind, one = futures[future]
                try:
                    arrays, meta = future.result()
                except Exception as err:  # noqa: BLE001 - a failed run is reported, the others finish
                    failed.add(key)
                    report.failures.append((f"{kind} {describe(one)}", f"{type(err).__name__}: {err}"))
                    print(f"[sweep {done}/{len(futures)}] {kind} {describe(one)}: FAILED "
                          f"({type(err).__name__}: {err})", flush=True)
                    return
                (committed_store(need.profile) if commit else need.store).save(kind, one.settings(), arrays, meta)
                report.computed += 1
                print(f"[sweep {done}/{len(futures)}] {kind} {describe(one)}: computed in "
                      f"{meta['wall_s']:.0f} s", flush=True)

            kept: set[Future] = set()
            try:
                for future in as_completed(futures):
                    kept.add(future)
                    keep(future)
            except KeyboardInterrupt:
                # no new run starts; those running finish and are stored (a second Ctrl-C
                # stops at once: only their work is lost, nothing stored is)
                report.interrupted = True
                not_started = sum(future.cancel() for future in futures if future not in kept)
                running = [future for future in futures if future not in kept and not future.cancelled()]
                print(f"[sweep {sweep.name}] interrupted: {report.computed} runs stored, {not_started} not started; "
                      f"waiting for the {len(running)} running (Ctrl-C again to stop at once)", flush=True)
                for future in as_completed(running):
                    keep(future)
        finally:
            close()
    if execute_notebooks and not report.interrupted:
        out = pages_folder(sweep, out)
        os.environ[RUN_LOG_ENV] = "1"
        for index, (point, need) in enumerate(zip(points, needs)):
            if {need.key(kind, one) for kind, one in need.runs} & failed:
                report.skipped.append(index)
                continue
            target = out / f"{index:03d}.ipynb"
            execute(paths.CHECKOUT / sweep.notebook, target, point, title=f"{sweep.name}: point {index}",
                    quiet=True)
            report.notebooks.append(target)
            print(f"[sweep {sweep.name}] point {index + 1}/{len(points)} -> {target}", flush=True)
    return report


def pages_folder(sweep: Sweep, out: Path | None = None) -> Path:
    """Where a sweep's executed pages go: ``out``, by default ``executed/sweeps/<name>/``."""
    return out or EXECUTED / sweep.name


def status(sweep: Sweep, out: Path | None = None) -> list[dict[str, Any]]:
    """Per point: its parameters that vary, its runs stored out of all, and whether its
    notebook was executed (into :func:`pages_folder`)."""
    folder = pages_folder(sweep, out)
    varying = [*sweep.axes, *sweep.zipped]
    rows = []
    for index, point in enumerate(sweep.points()):
        need = point_runs(sweep, point)
        stored = sum(need.store.has(kind, one.settings()) for kind, one in need.runs)
        rows.append({"point": index, **{k: point[k] for k in varying}, "runs stored": stored,
                     "runs": len(need.runs), "page": (folder / f"{index:03d}.ipynb").is_file()})
    return rows


def tidy_rows(sweep: Sweep) -> Iterator[dict[str, Any]]:
    """The sweep's stored results as a tidy table: one row per run and radius (a run
    without a curve: one row), every setting a column, read from the store."""
    for index, point in enumerate(sweep.points()):
        need = point_runs(sweep, point)
        radii = np.asarray(getattr(need.config, "eps_grid", ()), dtype=float)
        for kind, one in need.runs:
            arrays = need.store.load(kind, one.settings())
            if arrays is None:
                continue
            base = {"point": index, "kind": kind, **{k: _cell(v) for k, v in one.settings().items()},
                    **coordinates(one)}
            base.update({name: float(a) for name, a in arrays.items() if a.ndim == 0})
            base.update(getattr(need.experiment, "summary_columns", lambda *_: {})(kind, arrays, need.config))
            curves = {name: a for name, a in arrays.items()
                      if name.startswith(CURVE_PREFIXES) and a.ndim == 1 and len(a) == len(radii) > 0}
            if not curves:
                yield base
            for i, eps in enumerate(radii if curves else ()):
                yield {**base, "eps": float(eps), **{name: float(a[i]) for name, a in curves.items()}}


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, tuple, dict)) else value


def table_path(sweep: Sweep, executed: Path = EXECUTED.parent) -> Path:
    """Where ``sweep aggregate`` writes the sweep's table by default, and where its page
    offers it: ``<executed>/sweeps/<name>/<name>.csv``, beside the executed pages."""
    return executed / EXECUTED.name / sweep.name / f"{sweep.name}.csv"


def aggregate(sweep: Sweep, out: Path) -> int:
    """Write :func:`tidy_rows` to the CSV ``out``; returns the number of rows."""
    rows = list(tidy_rows(sweep))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(dict.fromkeys(name for row in rows for name in row)), restval="")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
