"""A sweep's stored results, shaped for its page: the tidy table (:func:`.sweep.tidy_rows`),
each attacked run's breaking radius per attack, each run's neuron alignment, and the
cosine maps of repeat 0's nets. Read from the store, never from notebook outputs.

A sweep page shows one swept parameter (the slider's): the sweep's one axis, or the
first of its zipped parameters. P = points, one value of it each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import sweep as sweeps
from .experiments import synthetic
from .experiments.common import describe
from .validation import require

__all__ = ["ATTACKS", "BREAKING_LEVEL", "SweepResults", "load", "crossing_radius", "breaking_radii", "alignment",
           "theory_radii"]

#: The attacks a sweep page compares, as (column of the variants entry, label): the
#: library's strongest validated attack, and the paper's attack as its authors wrote it.
ATTACKS = (("robust_strong", "strong"), ("robust_as_written", "as written"))
#: A net is broken at the radius where its robust accuracy falls below this.
BREAKING_LEVEL = 0.5


@dataclass
class SweepResults:
    """What a sweep page draws.

    - ``axis``: the swept parameter; ``values`` (P,): its value at each point (a sweep
      over ``powers`` of one exponent each shows that exponent)
    - ``table``: the tidy table, one row per entry and radius (:func:`.sweep.tidy_rows`)
    - ``clusters``: (P, 2) K and K1 at each point
    - ``cosines``: {(point, p): (T, K+2)} repeat 0's dominant neurons' cosines with mu_+,
      mu_-, mu_1..mu_K, largest contribution first
    - ``entries``: the store entries the points read (each once); ``missing``: those the
      store lacks, described
    - ``cpu_s``: the CPU seconds the stored entries took, as they recorded it
    """

    sweep: sweeps.Sweep
    axis: str
    values: list[float]
    table: pd.DataFrame
    clusters: np.ndarray
    cosines: dict[tuple[int, float], np.ndarray]
    entries: int
    missing: list[str]
    cpu_s: float

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def powers(self) -> list[float]:
        """The exponents of the runs, in increasing order."""
        return sorted(self.table["p"].unique())

    def value_label(self, value: float) -> str:
        return f"{self.axis_name} = {value:g}"

    @property
    def axis_name(self) -> str:
        return "p" if self.axis == "powers" else self.axis


def swept_axis(sweep: sweeps.Sweep) -> str:
    """The parameter a sweep page puts on its slider: the sweep's one axis, or the first of
    its zipped parameters."""
    require(len(sweep.axes) + bool(sweep.zipped) == 1, "sweep axes", [*sweep.axes, *sweep.zipped],
            "one axis, or one group of zipped parameters, for a sweep page")
    return next(iter(sweep.axes or sweep.zipped))


def _value(axis: str, value: Any) -> float:
    if axis == "powers":
        require(len(value) == 1, "powers", value, "one exponent per point, for a sweep page over p")
        return float(value[0])
    return float(value)


def load(sweep: sweeps.Sweep) -> SweepResults:
    """The stored results of ``sweep`` (a sweep of the synthetic notebook)."""
    require(sweep.notebook == "notebooks/synthetic_gmm.py", "notebook", sweep.notebook,
            "notebooks/synthetic_gmm.py (sweep pages draw the synthetic experiment)")
    axis = swept_axis(sweep)
    points = sweep.points()
    values = [_value(axis, point[axis]) for point in points]
    table = pd.DataFrame(list(sweeps.tidy_rows(sweep)))
    clusters, cosines, missing, cpu_s, seen = np.zeros((len(points), 2), int), {}, [], 0.0, set()
    for index, point in enumerate(points):
        need = sweeps.point_runs(sweep, point)
        clusters[index] = need.config.n_clusters, need.config.n_positive
        for kind, one in need.runs:
            first = need.key(kind, one) not in seen
            seen.add(need.key(kind, one))
            if not need.store.has(kind, one.settings()):
                if first:
                    missing.append(f"point {index} ({axis}={point[axis]}): {kind} {describe(one)}")
                continue
            cpu_s += float(need.store.meta(kind, one.settings()).get("cpu_s", 0.0)) if first else 0.0
            if kind == synthetic.KIND and one.attack_ideal:
                arrays = need.store.load(kind, one.settings())
                cosines[index, one.p] = arrays["cosines"][: int(synthetic.summary_columns(kind, arrays, need.config)
                                                               ["dominant_neurons"])]
    return SweepResults(sweep, axis, values, table, clusters, cosines, len(seen), missing, cpu_s)


def crossing_radius(eps: np.ndarray, accuracy: np.ndarray, level: float = BREAKING_LEVEL) -> float:
    """The radius where ``accuracy`` (E,) over ``eps`` (E,) first falls below ``level``,
    linear between the grid's radii: 0 when it starts below, inf when it never falls."""
    eps, accuracy = np.asarray(eps, float), np.asarray(accuracy, float)
    below = np.nonzero(accuracy < level)[0]
    if len(below) == 0:
        return math.inf
    i = int(below[0])
    if i == 0:
        return 0.0
    a0, a1 = accuracy[i - 1], accuracy[i]
    return float(eps[i - 1] + (eps[i] - eps[i - 1]) * (a0 - level) / (a0 - a1))


def breaking_radii(results: SweepResults) -> pd.DataFrame:
    """One row per attacked run and attack of :data:`ATTACKS`: point, the swept value, p,
    repeat, attack (its label) and the radius (:func:`crossing_radius`)."""
    t = results.table
    variants = t[t["kind"] == synthetic.VARIANTS_KIND]
    rows = []
    for (point, p, repeat), run in variants.groupby(["point", "p", "repeat"]):
        run = run.sort_values("eps")
        for column, label in ATTACKS:
            rows.append({"point": point, "value": results.values[point], "p": p, "repeat": repeat, "attack": label,
                         "radius": crossing_radius(run["eps"].to_numpy(), run[column].to_numpy())})
    return pd.DataFrame(rows, columns=["point", "value", "p", "repeat", "attack", "radius"])


def alignment(results: SweepResults) -> pd.DataFrame:
    """One row per run: point, the swept value, p, repeat, and its neurons' alignment with
    the subclass centres and the class averages, the share of centres covered and its
    final training error (:func:`~prelu_robust.experiments.synthetic.summary_columns`)."""
    t, columns = results.table, ["alignment_centres", "alignment_averages", "centres_covered", "final_train_error"]
    if not len(t) or not (t["kind"] == synthetic.KIND).any():
        return pd.DataFrame(columns=["point", "value", "p", "repeat", *columns])
    runs = t[t["kind"] == synthetic.KIND].drop_duplicates(["point", "p", "repeat"])
    out = runs[["point", "p", "repeat", *columns]].copy()
    out.insert(1, "value", out["point"].map(dict(enumerate(results.values))))
    return out.reset_index(drop=True)


def theory_radii(n_clusters: int) -> dict[str, float]:
    """The radii the theory names: p = 1's limit F breaks at 1/sqrt(K); F^(p), p > 2, is
    robust up to sqrt(2)/2."""
    return {"1/sqrt(K)": 1 / math.sqrt(n_clusters), "sqrt(2)/2": math.sqrt(2) / 2}
