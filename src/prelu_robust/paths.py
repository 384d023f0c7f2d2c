"""Every path the project uses, in one place (in the spirit of showyourwork's ``paths.py``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CHECKOUT", "NOTEBOOKS", "PAGES", "TOC", "EXECUTED", "BOOK", "DATA", "SHARED_DATA", "REPORTS", "BENCH_CACHE", "results_root"]

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


def results_root() -> Path:
    """``$PRELU_ROBUST_RESULTS``, else ``results/`` of the source checkout (or of
    the working directory when the package is not installed from one)."""
    if "PRELU_ROBUST_RESULTS" in os.environ:
        return Path(os.environ["PRELU_ROBUST_RESULTS"])
    return (CHECKOUT if (CHECKOUT / "pyproject.toml").is_file() else Path.cwd()) / "results"
