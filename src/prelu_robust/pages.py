"""The book's page registry (``notebooks/pages.yml``): the one list of its pages, from
which Jupyter Book's ``_toc.yml`` is written, the driver executes, and the tests read.

    python -m prelu_robust.pages      # rewrite _toc.yml from the registry
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import paths

__all__ = ["EXECUTED_DIR", "PAGE_METADATA", "NotebookPage", "Book", "load", "toc_text", "write_toc"]

#: Executed notebooks live here, relative to the book's root.
EXECUTED_DIR = "executed"
#: The key of the output metadata a page's banner carries (read back by the driver).
PAGE_METADATA = "prelu_robust"


@dataclass(frozen=True)
class NotebookPage:
    """A page executed from ``notebook`` with papermill ``parameters`` into ``executed/<name>.ipynb``;
    a ``last`` page is executed after every other (it reports on them)."""

    name: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    last: bool = False

    @property
    def file(self) -> str:
        return f"{EXECUTED_DIR}/{self.name}"


@dataclass(frozen=True)
class Book:
    """The registry: ``root`` (the landing page) and ``parts`` (caption, [page files])."""

    root: str
    parts: tuple[tuple[str, tuple[str, ...]], ...]
    notebooks: tuple[NotebookPage, ...]

    @property
    def files(self) -> list[str]:
        """Every page of the book, as Jupyter Book names them (no suffix), root first."""
        return [self.root] + [f for _, files in self.parts for f in files]

    def notebook_pages(self) -> dict[str, NotebookPage]:
        """The executed pages by name, in execution order."""
        return {page.name: page for page in self.notebooks}


def load(file: Path = paths.PAGES) -> Book:
    """Read the registry ``file``; a page is either ``file`` (prose) or ``name`` + ``notebook``."""
    raw = yaml.safe_load(Path(file).read_text())
    parts, notebooks = [], []
    for part in raw["parts"]:
        files = []
        for page in part["pages"]:
            if "notebook" in page:
                notebook = NotebookPage(page["name"], page["notebook"], dict(page.get("parameters") or {}),
                                        page.get("title"), bool(page.get("last", False)))
                notebooks.append(notebook)
                files.append(notebook.file)
            else:
                files.append(page["file"])
        parts.append((part["caption"], tuple(files)))
    return Book(raw["root"], tuple(parts), tuple(notebooks))


def toc_text(book: Book) -> str:
    """``_toc.yml`` for Jupyter Book 1.x."""
    toc = {"format": "jb-book", "root": book.root,
           "parts": [{"caption": caption, "chapters": [{"file": f} for f in files]} for caption, files in book.parts]}
    return ("# Written by `python -m prelu_robust.pages` from notebooks/pages.yml: edit that file, not this one.\n"
            + yaml.safe_dump(toc, sort_keys=False))


def write_toc(book: Book | None = None, target: Path = paths.TOC) -> Path:
    """Write ``_toc.yml`` from the registry."""
    target.write_text(toc_text(book or load()))
    return target


if __name__ == "__main__":
    print(f"wrote {write_toc()}")
    sys.exit(0)
