"""The ``prelu-robust`` command (also ``python -m prelu_robust``).

    prelu-robust store list                       entries per kind, with their size
    prelu-robust store verify                     read every entry and check its key
    prelu-robust store export synthetic-run --out runs.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .paths import results_root
from .store import entries, export_csv, results_version, verify

__all__ = ["main"]


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
    args = parser.parse_args(argv)
    return _store(args)


if __name__ == "__main__":
    sys.exit(main())
