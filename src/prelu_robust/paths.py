"""Every path the project uses, in one place (in the spirit of showyourwork's ``paths.py``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CHECKOUT", "NOTEBOOKS", "PAGES", "TOC", "EXECUTED", "BOOK", "DATA", "SHARED_DATA", "REPORTS", "BENCH_CACHE", "RESULTS_ENV", "results_root_is_chosen", "results_root",
           "custom_results_root"]

#: The source checkout this package was installed from (editable install).
CHECKOUT = Path(__file__).resolve().parents[2]
#: The figure notebooks (Jupytext py:percent) and the page registry.
NOTEBOOKS = CHECKOUT / "notebooks"
PAGES = NOTEBOOKS / "pages.yml"
#: Jupyter Book's table of contents, written from the page registry.
TOC = CHECKOUT / "_toc.yml"
#: Where `make book` writes the executed notebooks.
EXECUTED = CHECKOUT / "executed"
BOOK = CHECKOUT / "book"
#: Downloaded data sets (git-ignored); ``$PRELU_ROBUST_DATA`` overrides it.
DATA = CHECKOUT / "data"
#: A read-only copy of the data beside the checkout, used instead of a download when present.
SHARED_DATA = CHECKOUT.parent / "shared" / "data"
#: The benchmark reports (RESULTS*.md).
REPORTS = CHECKOUT / "benchmarks" / "reports"
#: Models the benchmarks reuse between runs (git-ignored).
BENCH_CACHE = CHECKOUT / "benchmarks" / "cache"


#: The environment variable that chooses the results root (the driver's ``--store`` sets it).
RESULTS_ENV = "PRELU_ROBUST_RESULTS"


def results_root_is_chosen() -> bool:
    """Whether ``$PRELU_ROBUST_RESULTS`` names the results root."""
    return bool(os.environ.get(RESULTS_ENV))


def results_root() -> Path:
    """``$PRELU_ROBUST_RESULTS``, else ``results/`` of the source checkout (or of
    the working directory when the package is not installed from one)."""
    if results_root_is_chosen():
        return Path(os.environ[RESULTS_ENV])
    return (CHECKOUT if (CHECKOUT / "pyproject.toml").is_file() else Path.cwd()) / "results"


def custom_results_root() -> Path:
    """Where re-runs of the paper profile with other settings are stored (git-ignored)."""
    return results_root() / "custom"
