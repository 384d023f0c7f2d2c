"""The ``prelu-robust`` command (also ``python -m prelu_robust``).

    prelu-robust store list                       entries per kind, with their size
    prelu-robust store verify                     read every entry and check its key
    prelu-robust store export synthetic-run --out runs.csv
    prelu-robust sweep run sweeps/NAME.yaml [--executor local|inline|dask|tcp://HOST:8786] [--workers N]
    prelu-robust sweep run notebooks/synthetic_gmm.py -p profile ci -a n_clusters=4,8 -a n_positive=2
    prelu-robust sweep run sweeps/p_knob.yaml --commit --no-pages   refill the committed results of a shipped sweep
    prelu-robust sweep status sweeps/NAME.yaml    points, their runs stored, their pages
    prelu-robust compute synthetic --profile paper --commit [-p n_clusters 20 -p n_positive 8] [--workers 2]
    prelu-robust sweep aggregate sweeps/NAME.yaml [--out FILE.csv]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import sweep
from .paths import results_root
from .progress import RUN_LOG_ENV
from .data.mnist import DatasetMissingError
from .experiments import EXPERIMENTS
from .store import committed_store, entries, export_csv, results_version, verify
from .validation import ParameterError, require

__all__ = ["main", "INTERRUPTED"]

#: The exit status after Ctrl-C (128 + SIGINT, as a shell reports it).
INTERRUPTED = 130


def _store(args: argparse.Namespace) -> int:
    root = args.root or results_root() / "paper"
    if args.action == "list":
        sizes: dict[str, list[int]] = {}
        for entry in entries(root):
            sizes.setdefault(entry.kind, []).append(sum(f.stat().st_size for f in entry.folder.iterdir()))
        for kind, kind_sizes in sizes.items():
            print(f"{kind}: {len(kind_sizes)} entries, {sum(kind_sizes) / 1e6:.2f} MB "
                  f"(results version {results_version(kind)})")
        return 0
    if args.action == "verify":
        checked = [(entry, verify(entry)) for entry in entries(root)]
        problems = [(entry, why) for entry, why in checked if why]
        for entry, why in problems:
            print(f"{entry.folder}: {why}")
        print(f"{len(checked)} entries under {root}, {len(problems)} with problems")
        return 1 if problems else 0
    if args.out is None:
        export_csv(root, args.kind, sys.stdout)
    else:
        with open(args.out, "w", newline="") as out:
            print(f"{export_csv(root, args.kind, out)} rows written to {args.out}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    if args.file.suffix == ".py":  # a quick grid: the notebook with -p and -a
        plan = sweep.from_arguments(str(args.file), dict(args.parameter), args.axis)
    else:
        require(not (args.parameter or args.axis), "-p/-a", "given with a sweep file",
                "a notebook (notebooks/*.py) in place of the file, or the values in the file")
        plan = sweep.load(args.file)
    if args.action == "run":
        report = sweep.run(plan, executor=args.executor, workers=args.workers, out=args.out,
                           execute_notebooks=not args.no_pages, commit=args.commit)
        print(f"[sweep {plan.name}] {report.computed} runs computed, {report.stored} already stored, "
              f"{len(report.notebooks)} pages executed")
        for what, why in report.failures:
            print(f"failed: {what}: {why}", file=sys.stderr)
        if report.skipped:
            print(f"points {report.skipped} not executed: a run they need failed", file=sys.stderr)
        if report.interrupted:
            print(f"interrupted: the runs stored are kept; `prelu-robust sweep run {args.file}` resumes",
                  file=sys.stderr)
            return INTERRUPTED
        return 1 if report.failures else 0
    if args.action == "status":
        rows = sweep.status(plan, args.out)
        for row in rows:
            varying = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("point", "runs stored", "runs", "page"))
            print(f"point {row['point']}: {varying}: runs {row['runs stored']}/{row['runs']}, "
                  f"page {'executed' if row['page'] else 'not executed'}")
        done = sum(row["runs stored"] == row["runs"] for row in rows)
        print(f"{done}/{len(rows)} points have all their runs stored")
        return 0
    out = args.out or sweep.table_path(plan)
    print(f"{sweep.aggregate(plan, out)} rows written to {out}")
    return 0


#: The experiments ``compute`` knows, by name: the figure notebook behind each.
NOTEBOOK_OF = {module.__name__.rsplit(".", 1)[1]: f"notebooks/{notebook}" for notebook, module in EXPERIMENTS.items()}


def _compute(args: argparse.Namespace) -> int:
    require(args.experiment in NOTEBOOK_OF, "experiment", args.experiment, ", ".join(NOTEBOOK_OF))
    plan = sweep.from_arguments(NOTEBOOK_OF[args.experiment], {"profile": args.profile, **dict(args.parameter)}, [])
    report = sweep.run(plan, executor=args.executor, workers=args.workers, execute_notebooks=False,
                       store=committed_store() if args.commit else None)
    print(f"[compute {args.experiment}] {report.computed} runs computed, {report.stored} already stored")
    for what, why in report.failures:
        print(f"failed: {what}: {why}", file=sys.stderr)
    if report.interrupted:
        print("interrupted: the runs stored are kept; the same command resumes", file=sys.stderr)
        return INTERRUPTED
    return 1 if report.failures else 0


def _add_executor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", default="local",
                        help="local (worker processes, default), inline (this process), dask (a local "
                             "Dask cluster) or tcp://HOST:PORT (an existing Dask scheduler)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prelu-robust", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    store = commands.add_parser("store", help="list, verify and export the results store")
    store.add_argument("--root", type=Path, default=None,
                       help="a store (default: <results root>/paper; the results root is $PRELU_ROBUST_RESULTS "
                            "or results/)")
    actions = store.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="entries per kind, with their size")
    actions.add_parser("verify", help="read every entry and check its key; exit status 1 if any is wrong")
    export = actions.add_parser("export", help="one CSV row per entry of a kind")
    export.add_argument("kind")
    export.add_argument("--out", type=Path, default=None, help="CSV file (default: standard output)")
    sweeps = commands.add_parser("sweep", help="papermill parameter sweeps (see prelu_robust.sweep)")
    sweep_actions = sweeps.add_subparsers(dest="action", required=True)
    for name, help_text in (("run", "compute the missing runs on an executor, then execute each point's page"),
                            ("status", "each point's runs stored and whether its page was executed"),
                            ("aggregate", "the stored results of every point as one tidy CSV table")):
        action = sweep_actions.add_parser(name, help=help_text)
        action.add_argument("file", type=Path, help="a sweep file (sweeps/*.yaml), or a notebook with -p and -a")
        action.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                            help="a parameter every point shares (with a notebook)")
        action.add_argument("-a", "--axis", action="append", default=[], metavar="NAME=V1,V2",
                            help="a parameter to sweep, crossed with the other axes (with a notebook)")
        action.add_argument("--verbose", action="store_true", help="show the traceback of an error")
        if name == "run":
            _add_executor(action)
            action.add_argument("--no-pages", action="store_true", help="compute the runs only, execute no page")
            action.add_argument("--commit", action="store_true",
                                help="write the runs into the committed store of their profile (results/sweep/ for "
                                     "the shipped sweeps)")
        action.add_argument("--out", type=Path, default=None,
                            help="pages folder (run, status) or CSV file (aggregate); default under executed/sweeps/")
    compute = commands.add_parser("compute", help="compute (or find stored) every run of one page's settings")
    compute.add_argument("experiment", help=", ".join(NOTEBOOK_OF))
    compute.add_argument("--profile", default="paper", help="ci or paper (default)")
    compute.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                         help="a setting of the experiment, as the notebook's parameter")
    compute.add_argument("--commit", action="store_true",
                         help="write into the committed store results/paper (default: results/custom/ for the "
                              "paper profile)")
    compute.add_argument("--verbose", action="store_true", help="show the traceback of an error")
    _add_executor(compute)
    args = parser.parse_args(argv)
    if args.command == "store":
        return _store(args)
    os.environ[RUN_LOG_ENV] = "1"  # one line per run from the pages' kernels, no progress bars
    try:
        return _sweep(args) if args.command == "sweep" else _compute(args)
    except (ParameterError, DatasetMissingError) as err:
        if args.verbose:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
