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
# # A parameter sweep
#
# One page per shipped sweep of `sweeps/`: every number below is read from the sweep's
# store entries (committed in `results/sweep/`), never from notebook outputs. Each point
# is a run of the synthetic figure's notebook at the *sweep* profile: the §5.1 mixture at
# D = 100 with the paper's attacks. Two attacks are compared: the library's strongest
# validated one (`attacks.strong`: restarts from the clean point, along the straight line
# toward an opposite-class centre and from a random point of the ball, each point's best
# iterate kept) and the paper's ℓ2 PGD as its authors wrote it (`attacks.as_written`).
# A net is *broken* at the radius where its robust accuracy falls below 1/2, read
# linearly between the radii of the grid.

# %% tags=["parameters", "remove-cell"]
sweep_file = "sweeps/p_knob.yaml"  # the sweep this page shows
executed_dir = "executed"  # the executed pages' folder: the sweep's table is written beside them

# %% tags=["hide-input"]
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from prelu_robust import interactive, plots, reporting, sweep, sweep_results

plan = sweep.load(sweep_file)
results = sweep_results.load(plan)
command = f"prelu-robust sweep run {sweep_file} --workers 2"
display(Markdown(f"**The question.** {plan.question}"))
display(Markdown(reporting.sweep_banner(results, command)))

# %% [markdown]
# Re-run the sweep, on this machine's cores or on a Dask cluster (the workers need no
# shared filesystem: they return the arrays, this process writes the store); runs already
# stored are skipped, so an interrupted sweep resumes:

# %% tags=["hide-input"]
display(Markdown(f"```bash\n{command}\n{command.replace('--workers 2', '--executor tcp://SCHEDULER:8786')}\n"
                 f"prelu-robust sweep aggregate {sweep_file}\n```"))

# %% [markdown]
# ## Robust accuracy at every point
#
# Solid: the strongest attack, mean and min–max band over the repeats; dashed: the
# attack as written. Dotted lines: $1/\sqrt{K}$ (where $F$ breaks) and $\sqrt{2}/2$.

# %% tags=["hide-input"]
if len(results.table):
    plots.sweep_robust_figure(results)
    plt.show()

# %% [markdown]
# ## Breaking radius and alignment against the swept parameter
#
# **(a)** The breaking radius of each attack (mean, bars: min–max over the repeats; a
# net never broken on the grid is drawn at its largest radius) with the theory's radii.
# **(b)** How the dominant neurons (at least `surrogate_tol` of the largest contribution)
# are aligned: the contribution-weighted mean of each one's largest cosine with a
# subclass centre (solid) and with a class average $\mu_\pm$ (dashed). A centre of the +
# class has cosine $1/\sqrt{K_1}$ with $\mu_+$, one of the − class $1/\sqrt{K-K_1}$ with
# $\mu_-$: class-average neurons score 1 dashed and about those values solid,
# subclass-centre neurons the other way round.

# %% tags=["hide-input"]
if len(results.table):
    plots.sweep_summary_figure(results)
    plt.show()
    display(Markdown(reporting.sweep_table(results)))

# %% [markdown]
# ## Interactive: one point at a time
#
# Move the slider to step through the swept values. The first figure is the robust
# accuracy of that point; the second, the cosines of repeat 0's dominant neurons with
# $\mu_+$, $\mu_-$ and the centres $\mu_1, \dots, \mu_K$ (rows by contribution). Both are
# drawn by the book's own copy of plotly.js: the page loads nothing from the network.

# %% tags=["hide-input"]
if len(results.table):
    display(interactive.embed(interactive.robust_slider_figure(results)))
    display(interactive.embed(interactive.alignment_slider_figure(results)))

# %% [markdown]
# ## The table
#
# One row per store entry and radius, every setting a column (`prelu-robust sweep
# aggregate` writes the same table):

# %% tags=["hide-input"]
table = sweep.table_path(plan, Path(executed_dir))
rows = sweep.aggregate(plan, table)
display(Markdown(f"{{download}}`{table.name} <{table.relative_to(Path(executed_dir)).as_posix()}>` "
                 f"({rows} rows, {table.stat().st_size / 1e3:.0f} kB)"))
