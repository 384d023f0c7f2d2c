"""Execute the book's notebooks with papermill.

    python -m prelu_robust.run_notebook all [--profile ci] [--out executed] [--jobs 2]
    python -m prelu_robust.run_notebook one notebooks/synthetic_gmm.py out.ipynb -p n_clusters 20
    python -m prelu_robust.run_notebook one notebooks/synthetic_gmm.py out.ipynb -p profile ci --store /tmp/mine

A re-run never writes into the committed store ``results/paper``: what it computes goes
to ``results/custom/`` (git-ignored), or to the results root given with ``--store``.

Notebooks are Jupytext py:percent files, read in memory (no ``.ipynb`` in git).
A notebook that raises fails the command. ``all`` runs every notebook page of the
registry (``notebooks/pages.yml``, see :mod:`prelu_robust.pages`) and records each
page's profile (as its results report it), parameters and execution time in
``<out>/execution.json`` for the reproducibility page.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import io
import json
import os
import shutil
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterator
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

from . import pages, paths
from .pages import PAGE_METADATA
from .data.mnist import DatasetMissingError
from .device import THREADS_ENV
from .experiments import EXPERIMENTS
from .experiments.common import RUNNER_PARAMETERS, check_parameters
from .progress import RUN_LOG_ENV
from .validation import ParameterError, reject_unknown, require
from .workers import process_pool

__all__ = ["RERUN", "read_notebook", "parameter_lines", "notebook_parameters", "parameters_cell", "parameter_mismatch", "checked_parameters", "set_title", "execute", "executed_profile",
           "PageJob", "execute_all", "parse_value", "main"]

ROOT = paths.CHECKOUT


def read_notebook(source: Path):
    """The notebook of a py:percent file, as an nbformat node."""
    import jupytext  # the book's tools are imported only by the commands that use them

    if not source.is_file():
        known = sorted(str(page.notebook) for page in pages.load(paths.PAGES).notebook_pages().values())
        raise ParameterError(f"no notebook at {source}; the book's notebooks are: {', '.join(dict.fromkeys(known))}.")
    return jupytext.read(source)


#: The command that executes one notebook (the driver's ``one``), as a page shows it.
RERUN = "python -m prelu_robust.run_notebook one {notebook} {output}"


def parameter_lines(source: str) -> dict[str, tuple[Any, str]]:
    """Each literal assigned in a parameters cell's ``source``, with its line's comment."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = (ast.literal_eval(node.value), comments.get(node.lineno, ""))
    return values


def _parameters_source(nb) -> str:
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError("a notebook needs exactly one cell tagged 'parameters'")
    return cells[0].source


def notebook_parameters(nb) -> dict[str, Any]:
    """The literals assigned in the cell tagged ``parameters``."""
    return {name: value for name, (value, _) in parameter_lines(_parameters_source(nb)).items()}


def parameters_cell(source: Path) -> dict[str, tuple[Any, str]]:
    """The parameters of the notebook ``source``: each default value with its comment."""
    return parameter_lines(_parameters_source(read_notebook(source)))


def parameter_mismatch(declared: dict[str, Any] | list[str], config_type: type) -> tuple[list[str], list[str]]:
    """The fields of the dataclass ``config_type`` that a parameters cell (``declared``
    names) lacks, and the parameters it declares that are neither a field nor a runner
    parameter (``experiments.common.RUNNER_PARAMETERS``)."""
    fields = {f.name for f in dataclasses.fields(config_type)}
    names = set(declared)
    return sorted(fields - names), sorted(names - fields - set(RUNNER_PARAMETERS))


def checked_parameters(source: Path, nb, parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` checked before a kernel starts: names against the notebook's parameters
    cell, then (for a figure notebook, ``experiments.EXPERIMENTS``) types, choices and
    ranges as its experiment checks them; returned as the notebook should receive them."""
    reject_unknown(f"notebook {source.name}", parameters, notebook_parameters(nb))
    experiment = EXPERIMENTS.get(source.name) if source.resolve().parent == paths.NOTEBOOKS.resolve() else None
    if experiment is None:
        return parameters
    values = check_parameters(experiment.PROFILES, parameters)
    if hasattr(experiment, "check_inputs"):  # the data the parameters name, before a kernel starts
        defaults = {name: default for name, (default, _) in parameter_lines(_parameters_source(nb)).items()}
        experiment.check_inputs({**defaults, **values})
    return values


def set_title(nb, title: str) -> None:
    """Replace the first markdown heading (the page title in the book)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            lines = cell.source.lstrip().splitlines()
            cell.source = "\n".join([f"# {title}"] + lines[1:])
            return


def execute(source: Path, output: Path, parameters: dict[str, Any] | None = None,
            title: str | None = None, quiet: bool = False) -> float:
    """Execute ``source`` with ``parameters`` into ``output``; returns seconds.

    Bad parameters raise :class:`ParameterError` before the kernel starts
    (:func:`checked_parameters`).
    """
    import papermill  # the book's tools are imported only by the commands that use them

    nb = read_notebook(source)
    parameters = checked_parameters(source, nb, dict(parameters or {}))
    if title:
        set_title(nb, title)
    output.parent.mkdir(parents=True, exist_ok=True)
    # written outside the output folder (a stray notebook there would fail the strict build),
    # moved into place on success: a failed run never replaces a good page
    partial = Path(tempfile.mkdtemp(prefix="prelu-robust-")) / output.name
    start = time.perf_counter()
    try:
        papermill.execute_notebook(nb, str(partial), parameters=parameters, kernel_name="python3",
                                   cwd=str(ROOT), progress_bar=not quiet, log_output=False)
    except papermill.PapermillExecutionError as err:
        raise NotebookFailed(f"{source.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}\n"
                             f"{output} is unchanged; the failed notebook (with the traceback) is {partial}") from err
    _remove_injected_cell(partial)
    shutil.move(str(partial), output)
    partial.parent.rmdir()
    return time.perf_counter() - start


def _remove_injected_cell(notebook: Path) -> None:
    """Tag papermill's injected-parameters cell ``remove-cell``: a page shows its
    parameters as a table (``reporting.page_parameters``), not as code."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


class NotebookFailed(RuntimeError):
    """A notebook raised: the message names its cell and error and where the failed notebook is."""


def executed_profile(output: Path) -> str | None:
    """The profile a page's results report (the output metadata its banner carries,
    ``pages.PAGE_METADATA``), or None for a page without one."""
    nb = json.loads(output.read_text())
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get(PAGE_METADATA)
            if record is not None:
                return record.get("profile")
    return None


@dataclasses.dataclass(frozen=True)
class PageJob:
    """One page to execute: its notebook, checked parameters and title, its output, and
    whether it runs after all the others (the registry's ``last``)."""

    name: str
    notebook: str  # as the registry names it
    source: Path
    parameters: dict[str, Any]
    title: str | None
    output: Path
    last: bool

    @property
    def shown_parameters(self) -> dict[str, Any]:
        """Its parameters as the terminal and the execution record show them (not the output folder)."""
        return {k: v for k, v in self.parameters.items() if k != "executed_dir"}


def execute_all(out: Path, profile: str | None = None, only: list[str] | None = None,
                pages_file: Path = paths.PAGES, jobs: int = 1) -> dict[str, Any]:
    """Execute every notebook page of the registry ``pages_file`` (or those named in ``only``),
    ``jobs`` at a time. Every page's parameters are checked before the first kernel starts;
    the registry's ``last`` pages run after all the others."""
    require(isinstance(jobs, int) and not isinstance(jobs, bool) and jobs >= 1, "jobs", jobs, "a positive integer")
    registry = pages.load(pages_file).notebook_pages()
    if only:
        reject_unknown("page", only, registry)
    todo = [_page_job(name, page, out, profile) for name, page in registry.items() if not only or name in only]
    stats_file = out / "execution.json"
    stats = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
    recorded = set(stats)
    # a page removed from the registry leaves neither its notebook (outside the table of
    # contents it would fail the strict build) nor its execution time behind
    stats = {name: s for name, s in stats.items() if name in registry}
    out.mkdir(parents=True, exist_ok=True)
    stats_file.write_text(json.dumps(stats, indent=1) + "\n")
    for orphan in sorted(out.glob("*.ipynb")):
        if orphan.stem in recorded and orphan.stem not in registry:  # only what this driver wrote
            print(f"[run_notebook] removing {orphan} (not a page of {pages_file.name})", flush=True)
            orphan.unlink()
    for wave in ([job for job in todo if not job.last], [job for job in todo if job.last]):
        for job, seconds in _executed(wave, jobs):
            stats[job.name] = {"notebook": job.notebook, "parameters": job.shown_parameters,
                               "seconds": round(seconds, 1), "side_by_side": min(jobs, len(wave)),
                               "profile": executed_profile(job.output),
                               "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
            stats_file.write_text(json.dumps(stats, indent=1) + "\n")
            print(f"[run_notebook] {job.name}: done in {seconds:.0f} s", flush=True)
    return stats


def _page_job(name: str, page: pages.NotebookPage, out: Path, profile: str | None) -> PageJob:
    parameters = dict(page.parameters)
    source = ROOT / page.notebook
    nb = read_notebook(source)
    declared = notebook_parameters(nb)
    if profile is not None and "profile" in declared:
        parameters["profile"] = profile
    if "executed_dir" in declared:  # read or written beside the pages: the execution record, a sweep's table
        parameters["executed_dir"] = str(out)
    return PageJob(name, page.notebook, source, checked_parameters(source, nb, parameters), page.title,
                   out / f"{name}.ipynb", page.last)


def _execute_job(job: PageJob) -> float:
    return execute(job.source, job.output, job.parameters, job.title, quiet=True)


def _executed(wave: list[PageJob], jobs: int) -> Iterator[tuple[PageJob, float]]:
    """(job, seconds) for each page of ``wave`` as it finishes. Side by side (``jobs`` > 1),
    each in a process of its own whose kernel gets its share of the cores as torch threads;
    after a failure no other page starts, the running ones finish, and the failure is raised."""
    def announce(job: PageJob) -> None:
        print(f"[run_notebook] {job.name}: {job.notebook} {job.shown_parameters or ''}", flush=True)

    if jobs == 1 or len(wave) <= 1:
        for job in wave:
            announce(job)
            yield job, _execute_job(job)
        return
    share = str(max(1, (os.cpu_count() or 1) // jobs))
    with process_pool(min(jobs, len(wave)), {THREADS_ENV: share}) as pool:  # each kernel inherits its share
        running = {}
        for job in wave:
            announce(job)
            running[pool.submit(_execute_job, job)] = job
        try:
            for done in as_completed(running):
                yield running[done], done.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def parse_value(text: str) -> Any:
    """A ``-p NAME VALUE`` value: a Python literal, true/false/none in any case, else the string."""
    words = {"true": True, "false": False, "none": None, "null": None}
    if text.strip().lower() in words:
        return words[text.strip().lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prelu_robust.run_notebook", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    all_ = sub.add_parser("all", help="execute every notebook page of notebooks/pages.yml")
    all_.add_argument("--out", type=Path, default=ROOT / "executed")
    all_.add_argument("--profile", default=None, help="force a profile for every page (default: the notebook's)")
    all_.add_argument("--only", nargs="*", default=None, help="page names to run")
    all_.add_argument("--jobs", type=int, default=1,
                      help="pages executed side by side, each kernel on its share of the cores (default 1)")
    one = sub.add_parser("one", help="execute one notebook")
    one.add_argument("notebook", type=Path)
    one.add_argument("output", type=Path)
    one.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    for command in (all_, one):
        command.add_argument("--store", type=Path, default=None,
                             help=f"a results root of your own, read and written from scratch (sets ${paths.RESULTS_ENV}); "
                                  "default: the committed store is read, and re-runs with other settings are "
                                  "written to results/custom/")
        command.add_argument("--verbose", action="store_true", help="show the traceback of an error")
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_MININTERVAL", "30")
    os.environ[RUN_LOG_ENV] = "1"  # the kernels print one line per run here, and draw no bars
    if args.store is not None:  # the kernels inherit it
        os.environ[paths.RESULTS_ENV] = str(args.store.resolve())
    try:
        if args.command == "all":
            execute_all(args.out, args.profile, args.only, jobs=args.jobs)
        else:
            print(f"[run_notebook] {args.notebook} -> {args.output}", flush=True)
            seconds = execute(args.notebook, args.output, {k: parse_value(v) for k, v in args.parameter}, quiet=True)
            print(f"[run_notebook] done in {seconds:.0f} s", flush=True)
    except (ParameterError, DatasetMissingError, NotebookFailed) as err:
        if args.verbose:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 1 if isinstance(err, NotebookFailed) else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
