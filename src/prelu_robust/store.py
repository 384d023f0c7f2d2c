"""A results store keyed by configuration (in the spirit of showyourwork).

An entry lives in ``<root>/<kind>/<key>/`` with
``config.json`` (the full configuration), ``arrays.npz`` (what the figures
plot), ``meta.json`` (timings and provenance). ``key`` is a hash of the
canonical JSON of the configuration and the kind's *results version*
(:data:`RESULTS_VERSIONS`), so any change of setting, or of code that changes a
kind's results (its version is bumped), addresses a new entry. Writes go to a temporary folder
renamed into place, so a crash never leaves a half-written entry; an entry that
another writer finished first is kept (same key, same inputs). Two processes never compute
the same entry at once: a process claims an entry before computing it, and another that
needs it waits for it (:meth:`ResultsStore.claim`). An entry that cannot be
read is moved aside to ``<root>/<kind>/.unreadable/`` with a warning naming it, and
counts as missing: only that run is recomputed.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .paths import custom_results_root, results_root, results_root_is_chosen
from .device import cpu_description
from .validation import require_choice

__all__ = ["Arrays", "RESULTS_VERSIONS", "Entry", "entries", "verify", "export_csv", "results_version", "computed_meta", "canonical_json", "config_key", "git_revision", "provenance", "ResultsStore", "COMMITTED_PROFILES", "committed_store", "default_store",
           "compare_arrays"]

Arrays = dict[str, np.ndarray]

#: Each kind's results version, part of its entries' keys. Bump a kind's version when a
#: change of code changes its results: tests/test_golden.py recomputes a small entry of
#: every kind and fails until the version (and the golden store) are renewed.
RESULTS_VERSIONS = {
    "synthetic-run": "0.1.0",
    "synthetic-variants": "0.1.0",
    "mnist-run": "0.1.0",
    "mnist-model": "0.1.0",
    "alignment": "0.1.0",
}


def results_version(kind: str) -> str:
    """The results version of ``kind`` (the library version for a kind not listed)."""
    return RESULTS_VERSIONS.get(kind, __version__)


def canonical_json(config: Mapping[str, Any] | Any) -> str:
    """Sorted-key JSON of a mapping or dataclass; tuples become lists."""
    if is_dataclass(config):
        config = asdict(config)
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store a configuration value of type {type(value).__name__}")


def config_key(config: Mapping[str, Any] | Any, version: str = __version__) -> str:
    """16 hex digits of sha256(canonical config + results version)."""
    digest = hashlib.sha256(f"{canonical_json(config)}|prelu_robust={version}".encode())
    return digest.hexdigest()[:16]


def git_revision() -> str:
    """The checkout's commit (with ``+dirty`` if a tracked file outside ``results/`` is
    modified), or ``unknown``. The store itself does not count: a sweep that recomputes
    committed entries changes them while it runs."""
    try:
        here = Path(__file__).parent
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)",
                                ":(top,exclude)results"], cwd=here, capture_output=True, text=True,
                               timeout=5).stdout.strip()
        return (rev + ("+dirty" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance() -> dict[str, Any]:
    """Where and with what a result was computed."""
    return {
        "library_version": __version__, "git_revision": git_revision(), "torch": torch.__version__,
        "numpy": np.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(), "cpu": cpu_description(), "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def computed_meta(kind: str, wall_s: float, cpu_s: float) -> dict[str, Any]:
    """What an entry of ``kind`` records about its computation: timings, the kind's
    results version, and where and with what it ran (:func:`provenance`)."""
    return {"wall_s": wall_s, "cpu_s": cpu_s, "results_version": results_version(kind), **provenance()}


class ResultsStore:
    """Entries of computed results under ``root`` (created on first write).

    ``read_also``: stores read, in order, for an entry that ``root`` lacks; writes go to
    ``root`` only. A scratch store in front of the committed one (:func:`default_store`)
    serves the committed entries and keeps every new one out of them.
    """

    def __init__(self, root: str | os.PathLike[str], read_also: tuple[str | os.PathLike[str], ...] = ()) -> None:
        self.root = Path(root)
        self.read_also = tuple(Path(r) for r in read_also)

    def path(self, kind: str, config: Any) -> Path:
        """Where the entry of ``config`` is written."""
        return self.root / kind / config_key(config, results_version(kind))

    def found(self, kind: str, config: Any) -> Path:
        """Where the entry of ``config`` is read: the first of ``root`` and ``read_also``
        that holds it, else where it would be written."""
        entry = self.path(kind, config)
        for root in self.read_also:
            if not (entry / "arrays.npz").is_file() and (root / kind / entry.name / "arrays.npz").is_file():
                return root / kind / entry.name
        return entry

    def has(self, kind: str, config: Any) -> bool:
        return (self.found(kind, config) / "arrays.npz").is_file()

    def load(self, kind: str, config: Any) -> Arrays | None:
        """The stored arrays, or None when the entry is missing or unreadable (then moved aside)."""
        entry = self.found(kind, config)
        try:
            with np.load(entry / "arrays.npz") as data:
                return {name: data[name] for name in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            self._set_aside(entry, err)
            return None

    def meta(self, kind: str, config: Any) -> dict[str, Any]:
        """The entry's timings and provenance ({} when its meta.json is unreadable)."""
        try:
            return json.loads((self.found(kind, config) / "meta.json").read_text())
        except (OSError, ValueError):
            return {}

    def _set_aside(self, entry: Path, err: Exception) -> None:
        """Move an unreadable entry out of the way (kept for inspection) and say so."""
        aside = entry.parent / ".unreadable" / f"{entry.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        aside.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(entry, aside)
        except FileNotFoundError:  # another reader moved it first
            return
        warnings.warn(f"results entry {entry} is unreadable ({type(err).__name__}: {err}); moved to {aside}, "
                      "it will be recomputed", stacklevel=3)

    def save(self, kind: str, config: Any, arrays: Arrays, meta: Mapping[str, Any], *, replace: bool = False) -> Path:
        """Write an entry atomically (temporary folder, then rename). An entry that another
        writer finished first is kept (same key, same inputs), unless ``replace`` (a
        recompute): the old entry is then moved aside in one rename and removed."""
        final = self.path(kind, config)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        aside = final.parent / f".tmp-replaced-{final.name}-{os.getpid()}-{time.time_ns()}"
        try:
            (tmp / "config.json").write_text(json.dumps(json.loads(canonical_json(config)), indent=1,
                                                        sort_keys=True) + "\n")
            (tmp / "meta.json").write_text(json.dumps(dict(meta), indent=1, sort_keys=True) + "\n")
            np.savez_compressed(tmp / "arrays.npz", **arrays)
            if replace:
                with contextlib.suppress(FileNotFoundError):
                    os.replace(final, aside)
            try:
                os.replace(tmp, final)
            except OSError:
                if not (final / "arrays.npz").is_file():  # not another writer's finished entry
                    raise
        finally:
            for leftover in (tmp, aside):
                if leftover.exists():
                    shutil.rmtree(leftover, ignore_errors=True)
        return final

    def get_or_compute(self, kind: str, config: Any, compute: Callable[[], Arrays],
                       force: bool = False) -> tuple[Arrays, dict[str, Any]]:
        """Load the entry, or run ``compute`` and store its arrays with timings.

        Returns the arrays and the entry's metadata (``wall_s``, ``cpu_s``,
        ``computed_now`` and provenance). While another process holds the claim to
        compute the same entry (:meth:`claim`), this one waits for its result instead.
        """
        def loaded(arrays: Arrays) -> tuple[Arrays, dict[str, Any]]:
            return arrays, {"wall_s": 0.0, "cpu_s": 0.0, **self.meta(kind, config), "computed_now": False}

        if not force:
            while (arrays := self.load(kind, config)) is None and not self.claim(kind, config):
                time.sleep(CLAIM_POLL_S)  # another process computes it
            if arrays is not None:
                return loaded(arrays)
        try:
            arrays = None if force else self.load(kind, config)  # finished while we took the claim
            if arrays is not None:
                return loaded(arrays)
            wall, cpu = time.perf_counter(), time.process_time()
            arrays = compute()
            meta = computed_meta(kind, time.perf_counter() - wall, time.process_time() - cpu)
            self.save(kind, config, arrays, meta, replace=force)
            return arrays, {**meta, "computed_now": True}
        finally:
            if not force:
                self.release(kind, config)

    # -- one computation of an entry at a time, across processes ----------------------
    def _claim_path(self, kind: str, config: Any) -> Path:
        entry = self.path(kind, config)
        return entry.parent / ".claims" / entry.name

    def claim(self, kind: str, config: Any) -> bool:
        """Take the claim to compute the entry of ``config`` (a file created exclusively
        under ``<root>/<kind>/.claims/``); False while another live process holds it. A
        claim whose process is gone (same host), or older than :data:`CLAIM_TTL_S`, is
        taken over: a crashed process does not hold a run forever."""
        path = self._claim_path(kind, config)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()})
        for _ in range(3):
            try:
                descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if not _stale(path):
                    return False
                with contextlib.suppress(FileNotFoundError):  # another process took it over first
                    os.replace(path, path.with_name(f"{path.name}.stale-{os.getpid()}"))
                    os.unlink(path.with_name(f"{path.name}.stale-{os.getpid()}"))
                continue
            with os.fdopen(descriptor, "w") as handle:
                handle.write(record)
            return True
        return False

    def release(self, kind: str, config: Any) -> None:
        """Give up this process's claim on the entry of ``config`` (see :meth:`claim`)."""
        path = self._claim_path(kind, config)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()


#: How often a process waiting for another's claimed entry looks for it (seconds).
CLAIM_POLL_S = 1.0
#: A claim this old is taken over even when its process cannot be checked (another host).
CLAIM_TTL_S = 24 * 3600.0


def _stale(claim: Path) -> bool:
    """Whether a claim file's process is gone (same host) or the claim is older than the TTL."""
    try:
        record = json.loads(claim.read_text())
    except FileNotFoundError:
        return True
    except (OSError, ValueError):  # being written right now
        return False
    if time.time() - float(record.get("time", 0)) > CLAIM_TTL_S:
        return True
    if record.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(record["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, ValueError):
        return False
    return False


#: The profiles whose results are committed (``results/<profile>/``): the paper's
#: figures, and the shipped sweeps of ``sweeps/`` (at the synthetic ``sweep`` profile).
COMMITTED_PROFILES = ("paper", "sweep")


def committed_store(profile: str = "paper") -> ResultsStore:
    """The committed store of ``profile`` (one of :data:`COMMITTED_PROFILES`),
    ``<results root>/<profile>/``: what ``prelu-robust compute ... --commit`` and
    ``prelu-robust sweep run ... --commit`` fill, and what the book renders."""
    require_choice("committed profile", profile, COMMITTED_PROFILES)
    return ResultsStore(results_root() / profile)


def default_store(profile: str) -> ResultsStore:
    """The store a page of ``profile`` reads and writes.

    A committed profile (``paper``, ``sweep``): the committed entries are read, but
    whatever is computed (other settings, ``force``) goes to the git-ignored scratch store
    ``<results root>/custom/<profile>/``, read first: a re-run never changes the committed
    store. With ``$PRELU_ROBUST_RESULTS`` set (the driver's ``--store``) that folder is the
    results root, read and written as it is. Every other profile: ``<results
    root>/<profile>/``, a local cache.
    """
    if profile in COMMITTED_PROFILES and not results_root_is_chosen():
        return ResultsStore(custom_results_root() / profile, read_also=(committed_store(profile).root,))
    return ResultsStore(results_root() / profile)


def compare_arrays(stored: Arrays | None, new: Arrays, ignore: tuple[str, ...] = ()) -> str:
    """'identical', or the arrays of ``new`` that differ from ``stored`` with their largest
    absolute difference (arrays named in ``ignore``, such as timings, are skipped)."""
    if stored is None:
        return "not in the store"
    differ = []
    for name in sorted(set(new) - set(ignore)):
        a, b = np.asarray(stored[name], float), np.asarray(new[name], float)
        if a.shape != b.shape or not np.array_equal(a, b):
            gap = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("nan")
            differ.append(f"{name} {gap:.1e}")
    return "identical" if not differ else "; ".join(differ)


# -- what the store command shows: entries, their checks, a CSV export ------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One entry folder of a store: its kind, key and folder."""

    kind: str
    key: str
    folder: Path

    def config(self) -> dict[str, Any]:
        return json.loads((self.folder / "config.json").read_text())


def entries(root: Path, kind: str | None = None) -> Iterator[Entry]:
    """Every entry under ``root`` (of ``kind`` only, when given), by kind and key."""
    for kind_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if root.is_dir() else []:
        if kind is None or kind_dir.name == kind:
            for folder in sorted(p for p in kind_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                yield Entry(kind_dir.name, folder.name, folder)


def verify(entry: Entry) -> str | None:
    """What is wrong with an entry (None when nothing): unreadable files, or a key that is
    not its configuration's under the kind's results version (a stale or moved entry)."""
    try:
        config = entry.config()
        with np.load(entry.folder / "arrays.npz") as data:
            for name in data.files:
                data[name]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        return f"unreadable ({type(err).__name__}: {err})"
    expected = config_key(config, results_version(entry.kind))
    if expected != entry.key:
        return f"its configuration's key under results version {results_version(entry.kind)} is {expected}"
    return None


def export_csv(root: Path, kind: str, out) -> int:
    """One CSV row per entry of ``kind``: its key, every setting and every scalar array as
    columns (lists as JSON), and its CPU seconds; returns the number of rows."""
    rows = []
    for entry in entries(root, kind):
        row: dict[str, Any] = {"key": entry.key}
        row.update({name: json.dumps(value) if isinstance(value, (list, dict)) else value
                    for name, value in entry.config().items()})
        with np.load(entry.folder / "arrays.npz") as data:
            row.update({name: data[name].item() for name in data.files if data[name].size == 1})
        meta_file = entry.folder / "meta.json"
        if meta_file.is_file():
            row["cpu_s"] = json.loads(meta_file.read_text()).get("cpu_s")
        rows.append(row)
    columns = list(dict.fromkeys(name for row in rows for name in row))
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)
