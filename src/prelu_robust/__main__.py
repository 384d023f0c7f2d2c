"""``python -m prelu_robust``: the ``prelu-robust`` command (:mod:`prelu_robust.cli`)."""

import sys

from .cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
