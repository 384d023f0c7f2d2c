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
# # Neuron alignment: class averages (p=1) or subclass centres (p=3)
#
# The paper's opening picture. Two positive clusters sit on the first two axes of
# $\mathbb{R}^3$, one negative cluster on the third. A pReLU net with tiny random
# weights is trained by full-batch gradient descent. While the weights are tiny the
# output is about zero, so every neuron moves on its own: its direction follows
#
# $$
# \dot{\bar w} \;\propto\; \operatorname{sign}(v)\, P^{\perp}_{\bar w} \sum_{i:\,\langle x_i, w\rangle > 0} y_i\, p\, \langle x_i, \bar w\rangle^{p-1} x_i ,
# $$
#
# the projected gradient of $G(\bar w) = \frac1n\sum_i y_i\,\mathrm{relu}(\langle x_i,\bar w\rangle)^p$ on the
# sphere. Its attracting directions (*extremal vectors*) are where the neurons go:
# for $p=1$ the positive-class average $\mu_+/\|\mu_+\|$ (and the negative centre), for
# $p=3$ each centre. Only then do the aligned neurons' norms grow. Neurons that no
# data point activates stay small.

# %% tags=["parameters", "remove-cell"]
profile = "auto"  # "ci", "paper" (the same settings: the page runs in seconds) or "auto" (paper if stored)
force = False  # recompute even what is stored
# Overrides of the profile's settings (experiments.alignment.AlignmentConfig); None keeps the profile's value.
dim = None  # dimension (3: the figure draws the unit sphere)
n_clusters = None  # clusters on the axes (3)
n_positive = None  # 1 or 2 positive clusters among the 3
alpha = None  # noise level of the clusters
n = None  # number of training points (balanced over the 3 clusters)
width = None  # number of neurons
init_scale = None  # standard deviation of every initial weight
lr = None  # GD step size
steps = None  # GD steps
powers = None  # exponents p
n_snapshots = None  # log-spaced snapshots (animation frames)
seed = None  # seed of every draw

# %% tags=["hide-input"]
from IPython.display import HTML, Markdown, display

from prelu_robust import plots
from prelu_robust.experiments import alignment
from prelu_robust.experiments.common import notebook_overrides
from prelu_robust.reporting import alignment_banner, alignment_phases, alignment_summary, page_metadata, page_parameters

page_profile, config = alignment.resolve_profile(profile, **notebook_overrides(globals(), alignment.AlignmentConfig))
results = alignment.run(config, page_profile, force=force)
runs = results.runs
display(Markdown(alignment_banner(results)), metadata=page_metadata(results))
display(Markdown(page_parameters("notebooks/neuron_alignment.py", globals(), config)))
display(Markdown(alignment_summary(runs)))

# %% [markdown]
# ## Three snapshots
#
# Red: neurons with $v_j>0$, blue: $v_j<0$; point size grows with the contribution
# $|v_j|\,\|w_j\|$ relative to the largest at that moment. Stars: the centres; diamond:
# the positive-class average; open circles: the predicted extremal vectors.

# %% tags=["hide-input"]
fig = plots.alignment_snapshots_figure(runs)

# %% [markdown]
# ## Two phases: direction first, then norm
#
# The dashed line marks the end of the alignment phase (the last snapshot where
# every $\|w_j\|$ is below 1000 times the largest initial norm); coloured: the dominant
# neurons, grey: the others. The theory says the directions settle first and the norms
# grow after; the lines below say what this run did.

# %% tags=["hide-input"]
fig = plots.alignment_phases_figure(runs)
display(Markdown(alignment_phases(runs)))

# %% [markdown]
# ## The training as an animation

# %% tags=["hide-input"]
HTML(plots.alignment_animation(runs).to_jshtml(default_mode="once"))
