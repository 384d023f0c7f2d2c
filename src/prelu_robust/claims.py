"""The paper's claims, each with its source and tolerance, and their check against the store.

One :class:`Claim` per number or statement of SPEC.md's figures and tables. Its paper
value comes from :mod:`prelu_robust.paper` (the one home of the paper's numbers); its
``measure`` reads the stored runs of the paper's settings and returns our value per
repeat; ``stronger`` (when given) returns what a stronger estimator of ours finds for
the same quantity. :func:`check_all` turns them into :class:`Verdict` rows, the table
of the page *Paper versus reproduction*:

    rows = check_all(committed_store())
    print(markdown(rows))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import paper
from .experiments import mnist, synthetic
from .experiments.common import all_stored
from .neurons import covered_centres
from .reporting import markdown_table, steering_description
from .store import ResultsStore

__all__ = ["ESTIMATORS", "estimators", "Claim", "Stored", "Verdict", "CLAIMS", "check", "check_all", "markdown", "PASS", "FAIL", "NOT_RUN"]

PASS, FAIL, NOT_RUN = "pass", "fail", "not run"

#: The estimators the table names, each with what it is (the page's legend).
ESTIMATORS = {
    "PGD as written": "the authors' attack (`attacks.as_written`): the gradient of the batch-mean exp loss over the "
                      "20,000 attacked points, normalised per point with a +1e-7 guard; verdicts of the full net",
    "strong PGD with lines": "`attacks.strong`: exact PGD from the clean point, from the straight line toward an "
                             "opposite-class centre and from a random point; any misclassified iterate counts",
    "per-point ascent": "Algorithm 1, each point ascending its own |c f - F| (no 1/n under the guard), the maximum "
                        "over all iterates: a lower bound of the sup",
    "Algorithm 1 as written": "the authors' ascent: the batch-mean objective's gradient normalised with a +1e-7 "
                              "guard, the maximum over the last iterates",
    "APGD-CE": "AutoAttack's APGD-CE ('standard': 100 iterations; 5 restarts for L1), all 10,000 test images",
    "APGD-CE, 1,000 images": "the same on a fixed random draw of 1,000 of the test images",
    "clean accuracy": "test accuracy of the final model",
    "cosines": "cosines of the top neurons (by contribution |v_j| |w_j|) with mu_+, mu_-, mu_1..mu_K",
    "stable rank": "|H|_F^2 / |H|_2^2 of the hidden features on the training set, final epoch",
    "needs Caltech-256": "Caltech-256 and ResNet-152's ImageNet weights cannot be downloaded where the book is built; "
                         "the Caltech-256 page runs the same pipeline on an offline stand-in and reports its own verdict",
}
PER_POINT, WRITTEN = "per-point ascent", "Algorithm 1 as written"
WRITTEN_PGD, LINES_PGD = "PGD as written", "strong PGD with lines"
APGD, APGD_TABLE, CLEAN, NEURONS, STABLE_RANK = ("APGD-CE", "APGD-CE, 1,000 images", "clean accuracy", "cosines",
                                                 "stable rank")


class Stored:
    """The stored per-run arrays of the paper's settings: one list per experiment, ordered
    as the config's runs; None where a run of that experiment is missing."""

    def __init__(self, store: ResultsStore) -> None:
        self.store = store

    def _load(self, kind: str, runs: Sequence) -> list[tuple[object, dict[str, np.ndarray]]] | None:
        if not all_stored(self.store, kind, runs):
            return None
        return [(one, self.store.load(kind, one.settings())) for one in runs]

    @cached_property
    def synthetic_config(self) -> synthetic.SyntheticConfig:
        """The paper's K=10 settings at the product precision they are stored with."""
        return synthetic.resolve_profile("paper", self.store)[1]

    @cached_property
    def synthetic(self):
        return self._load(synthetic.KIND, self.synthetic_config.runs())

    @cached_property
    def variants(self):
        """The attack variants of the K=10 attacked models: (VariantsRun, arrays) pairs."""
        return self._load(synthetic.VARIANTS_KIND, synthetic.variant_runs(self.synthetic_config))

    @cached_property
    def mnist(self):
        return self._load(mnist.KIND, mnist.resolve_profile("paper", self.store, n_class=paper.MNIST_CLASSES)[1].runs())


def estimators(stored: Stored) -> dict[str, str]:
    """:data:`ESTIMATORS`, the synthetic attacks' and Algorithm 1's with the steering of
    the stored runs they read."""
    steering = steering_description(stored.synthetic_config)
    return {name: f"{what}; {steering}" if name in (WRITTEN_PGD, LINES_PGD, PER_POINT, WRITTEN) else what
            for name, what in ESTIMATORS.items()}


Measure = Callable[[Stored], np.ndarray | None]
"""Our value of a claim per repeat (R,), or None when the store lacks the runs."""


@dataclass(frozen=True)
class Claim:
    """One claim of the paper.

    ``low``..``high`` is the paper's value with its tolerance (a reading off a plot is
    +-0.005 in accuracy, +-3% in distance): our mean over repeats passes inside it.
    ``kind`` "at least" / "at most" checks only one side (``high`` / ``low`` unused).
    """

    figure: str
    source: str
    statement: str
    paper_value: str
    low: float
    high: float
    estimator: str
    measure: Measure
    stronger_estimator: str = ""
    stronger: Measure | None = None
    kind: str = "between"


@dataclass(frozen=True)
class Verdict:
    """A claim checked: our mean and range over repeats, the status, and the stronger estimate."""

    claim: Claim
    mean: float | None
    low: float | None
    high: float | None
    status: str
    stronger: float | None


def _inside(claim: Claim, value: float) -> bool:
    if claim.kind == "at least":
        return value >= claim.low
    if claim.kind == "at most":
        return value <= claim.high
    return claim.low - 1e-12 <= value <= claim.high + 1e-12


def check(claim: Claim, stored: Stored) -> Verdict:
    values = claim.measure(stored)
    stronger = claim.stronger(stored) if claim.stronger is not None else None
    strong_mean = None if stronger is None else float(np.mean(stronger))
    if values is None:
        return Verdict(claim, None, None, None, NOT_RUN, strong_mean)
    mean = float(np.mean(values))
    return Verdict(claim, mean, float(np.min(values)), float(np.max(values)),
                   PASS if _inside(claim, mean) else FAIL, strong_mean)


def check_all(store: ResultsStore, claims: Sequence[Claim] | None = None) -> list[Verdict]:
    stored = Stored(store)
    return [check(claim, stored) for claim in (CLAIMS if claims is None else claims)]


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.3f}"


def markdown(rows: Sequence[Verdict]) -> str:
    """The table of the page: one row per claim (estimators by their names in :data:`ESTIMATORS`)."""
    def ours(row: Verdict) -> str:
        if row.mean is None:
            return "-"
        return _number(row.mean) + ("" if row.low == row.high else f" ({_number(row.low)}-{_number(row.high)})")

    def tolerance(c: Claim) -> str:
        if c.kind == "at least":
            return f">= {_number(c.low)}"
        if c.kind == "at most":
            return f"<= {_number(c.high)}"
        return f"{_number(c.low)}..{_number(c.high)}"

    return markdown_table(
        ["claim", "figure", "paper", "ours: mean (min-max over repeats)", "our estimator", "passes if", "status",
         "stronger estimator"],
        [[r.claim.statement, f"{r.claim.figure} ({r.claim.source})", r.claim.paper_value, ours(r), r.claim.estimator,
          tolerance(r.claim), f"**{r.status}**",
          "-" if r.claim.stronger is None else f"{_number(r.stronger)} ({r.claim.stronger_estimator})"]
         for r in rows])


# -- the measures -------------------------------------------------------------
def _synthetic(name: str, p: float, index: Callable[[np.ndarray], float], attacked: bool | None = None,
               alpha_index: int | None = None) -> Measure:
    """One value per repeat from the K=10 runs of exponent p (at ``alpha_index``, or the
    attacked runs)."""
    def measure(stored: Stored) -> np.ndarray | None:
        if stored.synthetic is None:
            return None
        wanted = 0 if attacked else alpha_index
        return np.array([index(arrays[name]) for one, arrays in stored.synthetic
                         if one.p == p and one.alpha_index == wanted])
    return measure


def _variant(name: str, p: float, index: Callable[[np.ndarray], float]) -> Measure:
    """One value per repeat from the stored attack variants of the K=10 models of exponent p."""
    def measure(stored: Stored) -> np.ndarray | None:
        if stored.variants is None:
            return None
        return np.array([index(arrays[name]) for one, arrays in stored.variants if one.run.p == p])
    return measure


def _mnist(name: str, p: float, index: Callable[[np.ndarray], float]) -> Measure:
    def measure(stored: Stored) -> np.ndarray | None:
        if stored.mnist is None:
            return None
        return np.array([index(arrays[name]) for one, arrays in stored.mnist if one.p == p])
    return measure


def _stable_rank_ratio(stored: Stored) -> np.ndarray | None:
    if stored.mnist is None:
        return None
    final = {p: np.array([arrays["stable_rank"][-1] for one, arrays in stored.mnist if one.p == p]) for p in (1.0, 4.0)}
    return final[4.0] / final[1.0]


def _covered_centres(stored: Stored) -> np.ndarray | None:
    """p=3: the share of the centres mu_1..mu_K that some top neuron points at (cosine > 0.99)."""
    if stored.synthetic is None:
        return None
    return np.array([float(covered_centres(arrays["cosines"], 0.99).mean()) for one, arrays in stored.synthetic
                     if one.p == 3.0 and one.alpha_index == 0])


def _class_average_neurons(stored: Stored) -> np.ndarray | None:
    """p=1: the share of the top neurons at cosine > 0.99 with mu_+ or mu_-."""
    if stored.synthetic is None:
        return None
    return np.array([float((arrays["cosines"][:, :2].max(1) > 0.99).mean()) for one, arrays in stored.synthetic
                     if one.p == 1.0 and one.alpha_index == 0])


def _not_run(stored: Stored) -> None:
    return None


# -- the registry -------------------------------------------------------------
def _synthetic_curve_claims() -> list[Claim]:
    out = []
    bound = paper.mv25_bound(*paper.SYNTHETIC_CLUSTERS)
    for p, values in paper.SYNTHETIC_ROBUST.items():
        for i, eps in enumerate(paper.SYNTHETIC_EPS):
            if i == 0:
                continue
            past_bound = eps >= np.sqrt(2) / 2
            out.append(Claim(
                "§5.1 (e)", "poster plot, +-0.005", f"K=10, p={p:g}: robust accuracy at eps {eps:.3f}",
                f"~{values[i]:.3f}" + (f" (MV25 bound {bound:.1f})" if past_bound and p == 3.0 else ""),
                max(0.0, values[i] - 0.005), min(1.0, values[i] + 0.005), WRITTEN_PGD,
                _variant("robust_as_written", p, lambda a, i=i: float(a[i])),
                LINES_PGD, _variant("robust_strong", p, lambda a, i=i: float(a[i]))))
    return out


def _build() -> list[Claim]:
    lo1, hi1 = paper.SYNTHETIC_DIST_P1
    band = paper.SYNTHETIC_DIST_P3_BAND
    claims = _synthetic_curve_claims() + [
        Claim("§5.1 (a)", "poster plot, +-3%", "dist(f_1, F) at alpha = 0.01", f"~{lo1}", lo1 * 0.97, lo1 * 1.03,
              PER_POINT, _synthetic("distance", 1.0, float, alpha_index=0)),
        Claim("§5.1 (a)", "poster plot, +-3%", "dist(f_1, F) at alpha = 0.3", f"~{hi1}", hi1 * 0.97, hi1 * 1.03,
              PER_POINT, _synthetic("distance", 1.0, float, alpha_index=len(paper.SYNTHETIC_ALPHAS) - 1)),
        Claim("§5.1 (a)", "poster plot", "dist(f_3, F^(3)) at alpha = 0.01", f"{band[0]:.1e}..{band[1]:.1e}",
              band[0], band[1], WRITTEN, _variant("distance_as_written", 3.0, float),
              PER_POINT, _synthetic("distance", 3.0, float, alpha_index=0)),
        Claim("§5.1 (e)", "MV25 Prop. 1", "K=10, p=3: the largest accuracy over radii >= sqrt(2)/2 (no classifier "
              "exceeds MV25's bound)", f"<= {paper.mv25_bound(*paper.SYNTHETIC_CLUSTERS):.1f}", 0.0,
              paper.mv25_bound(*paper.SYNTHETIC_CLUSTERS), LINES_PGD,
              _variant("robust_strong", 3.0, lambda a: float(a[paper.SYNTHETIC_EPS >= np.sqrt(2) / 2].max())),
              kind="at most"),
        Claim("§5.1 (c)", "SPEC", "p=1: top neurons at cosine > 0.99 with mu_+ or mu_-", "~all", 0.9, 1.0, NEURONS,
              _class_average_neurons, kind="at least"),
        Claim("§5.1 (d)", "SPEC", "p=3: centres covered by a top neuron at cosine > 0.99", "all", 1.0, 1.0, NEURONS,
              _covered_centres),
    ]
    for pi, p in enumerate(sorted(paper.MNIST_ROBUST)):
        claims.append(Claim("App. B (d)", "poster plot, +-0.005", f"MNIST ten classes, p={p:g}: clean test accuracy",
                            "~0.981", 0.976, 0.986, CLEAN, _mnist("test_accuracy", p, lambda a: float(a[-1]))))
    for p, values in sorted(paper.MNIST_ROBUST.items()):
        for i, eps in enumerate(paper.MNIST_EPS):
            if i == 0 or np.isnan(values[i]):
                continue
            claims.append(Claim(
                "App. B (d)", "poster plot, +-0.01", f"MNIST ten classes, p={p:g}: Linf robust accuracy at eps {eps:.4f}",
                f"{values[i]:.3f}", max(0.0, values[i] - 0.01), values[i] + 0.01, APGD,
                _mnist("robust_accuracy", p, lambda a, i=i: float(a[i]))))
    for p, values in paper.MNIST_TABLE1.items():
        for j, (norm, eps) in enumerate(paper.TABLE1):
            claims.append(Claim(
                "Table 1", "paper, +-0.01", f"MNIST ten classes, p={p:g}: {norm} eps {eps:g}", f"{values[j]:.3f}",
                max(0.0, values[j] - 0.01), values[j] + 0.01, APGD_TABLE, _mnist("table1", p, lambda a, j=j: float(a[j]))))
    claims += [
        Claim("§5.2.1 (c)", "paper", "MNIST: stable rank of the hidden features, p=4 over p=1 (final epoch)", "> 1",
              1.0, 1.0, STABLE_RANK, _stable_rank_ratio, kind="at least"),
        Claim("§5.2.2", "paper", "Caltech-256: test accuracy and robustness increase with p", "increasing",
              1.0, 1.0, "needs Caltech-256", _not_run),
    ]
    return claims


#: Every claim of SPEC.md's figures and tables, in the order of the page.
CLAIMS: list[Claim] = _build()
