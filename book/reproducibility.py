# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reproducibility
#
# How this copy of the book was made: the software, the machine, the profile and
# execution time of each page, and the speed benchmarks.
#
# **From scratch**, on a machine with Python 3.11, `make`, and `npm`:
#
# ```bash
# make book    # virtual environment, install, execute every page (papermill), strict HTML build
# make test    # the same set-up, then the test suite (notebooks at the ci profile, strict build)
# ```
#
# **Recompute any figure** (ignores the stored results):
# `python -m prelu_robust.run_notebook one notebooks/synthetic_gmm.py out.ipynb -p profile paper -p force True`.
# Every run's configuration, timings and provenance (git revision, versions, machine)
# are stored beside its results in `results/<profile>/<kind>/<key>/`.

# %% tags=["parameters"]
executed_dir = "executed"

# %%
import json
import platform
from importlib.metadata import version
from pathlib import Path

from IPython.display import Markdown, display

from prelu_robust import paths
from prelu_robust.reporting import markdown_table
from prelu_robust.store import git_revision

stats_file = Path(executed_dir) / "execution.json"
stats = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
rows = [[name, f"{s['seconds']:.0f}", s.get("profile") or "-",
         ", ".join(f"{k}={v}" for k, v in s["parameters"].items()) or "-", s["notebook"], s["finished"]]
        for name, s in stats.items() if name != "reproducibility"]
at_once = max((s.get("side_by_side", 1) for s in stats.values()), default=1)
display(Markdown("## Execution of this build\n\n" + markdown_table(
    ["page", "seconds", "profile", "parameters", "notebook", "finished"], rows)
    + f"\n\nPages were executed {at_once} at a time (sharing the cores); a page's seconds are its wall time."))

# %%
packages = ["torch", "torchvision", "numpy", "scipy", "matplotlib", "seaborn", "pandas", "pyautoattack",
            "papermill", "jupytext", "jupyter-book", "myst-nb", "sphinx", "prelu-robust"]
rows = [[name, version(name)] for name in packages]
machine = [["python", platform.python_version()], ["platform", platform.platform()],
           ["processor", platform.machine()], ["git revision", git_revision()]]
display(Markdown("## Software and machine\n\n" + markdown_table(["package", "version"], rows + machine)))

# %%
recorded = sorted(paths.REPORTS.glob("RESULTS*.md"))  # every benchmark's recorded output
display(Markdown("\n\n".join(path.read_text() for path in recorded) if recorded
                 else "## Benchmarks\n\nNo benchmark results are recorded in this checkout yet."))
