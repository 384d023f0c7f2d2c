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
# # Synthetic data: class averages versus subclass centres (§5.1)
#
# A shallow pReLU net is trained by small-initialisation SGD on a mixture of $K$
# orthonormal Gaussian clusters ({ref}`theory <theory>` gives the model and the claims).
# The five panels: **(a)** the distance between the trained net and the ideal
# classifier ($F$ for $p=1$, $F^{(3)}$ for $p=3$) against the noise level;
# **(b)** the neurons' contributions; **(c, d)** the cosines of the dominant neurons
# with $\mu_\pm$ and the centres; **(e)** robust accuracy under $\ell_2$ PGD.
#
# Every number below is read from the results store when present and computed
# otherwise; the cell after the parameters says which profile produced this page.

# %% tags=["parameters", "remove-cell"]
profile = "auto"  # "ci" (minutes), "paper" (the paper's settings), "sweep" (the shipped sweeps') or "auto" (paper if stored)
device = "auto"  # "auto", "cpu" or "cuda"
force = False  # recompute even what is stored
# Overrides of the profile's settings (experiments.synthetic.SyntheticConfig); None keeps the profile's value.
dim = None  # dimension D of the data
n_clusters = None  # K orthonormal cluster centres
n_positive = None  # K1 clusters labelled +1
n_train = None  # training points per run
n_test = None  # test points per run
balanced = None  # equal numbers of points per cluster
alphas = None  # noise levels of panel (a)
powers = None  # exponents p
width = None  # hidden neurons
init_scale = None  # std of every initial weight
loss = None  # "exp" or "logistic"
lr = None  # SGD step
batch_size = None  # SGD batch
epochs = None  # epochs of the constant schedule (the gradient-flow time)
repeats = None  # repeats per (p, alpha)
schedule = None  # "loss_adaptive" (the engine) or "constant" (the reference's)
prune_tol = None  # neurons below this share of the largest are frozen once the net fits
product_dtype = None  # "auto" (bf16 where the CPU/GPU has bf16 units), "bfloat16" or "float32": the training products
steering = None  # "exact" (every neuron above prune_tol steers the attacks and Algorithm 1) or "merged" (a cheaper surrogate)
surrogate_tol = None  # the neurons the merged steering keeps and merges
eps_grid = None  # l2 radii of panel (e)
attack_points = None  # test points attacked
attack_steps = None  # PGD steps
attack_step_size = None  # PGD step length
strong_restarts = None  # restarts of the strong attack
dist_batches = None  # Algorithm 1: batches of starting points
dist_batch_size = None  # Algorithm 1: points per batch
dist_steps = None  # Algorithm 1: ascent steps
dist_step_size = None  # Algorithm 1: step length
top_neurons = None  # neurons kept for the cosine maps
seed = None  # seed of every draw

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from prelu_robust import plots
from prelu_robust.experiments import synthetic
from prelu_robust.experiments.common import notebook_overrides
from prelu_robust.reporting import page_metadata, page_parameters, profile_banner, synthetic_summary, training_check, variants_summary
from prelu_robust.store import default_store

page_profile, config = synthetic.resolve_profile(profile, **notebook_overrides(globals(), synthetic.SyntheticConfig))
results = synthetic.run(config, page_profile, device=device, force=force)
# the three attack variants and Algorithm 1 as written on the attacked models (None: not stored at paper)
curves = synthetic.variants(config, default_store(page_profile), compute=page_profile != "paper", device=device)
display(Markdown(profile_banner(results)), metadata=page_metadata(results))
display(Markdown(page_parameters("notebooks/synthetic_gmm.py", globals(), config)))
if warning := training_check(results):  # empty when every net fit its training data
    display(Markdown(warning))

# %% [markdown]
# ## The figure

# %% tags=["hide-input"]
fig = plots.synthetic_figure(results, curves)

# %% [markdown]
# ## Against the paper
#
# The paper's values are read off its plots (SPEC.md); they exist for the $K=10$,
# $K_1=6$ setting only. The estimators: the stored "reference" curve is PGD with each
# point's step normalised *exactly*; "strong" adds restarts and counts any misclassified
# iterate; the paper's attack *as written* (`attacks.as_written`, next section) normalises
# the gradient of the batch-mean loss with a $+10^{-7}$ guard, which stalls points far on
# the correct side. Every curve is an upper bound on the true robust accuracy, and MV25's
# Proposition 1 caps every classifier at $1-\min(K_1,K_2)/K$ for radii $\ge\sqrt2/2$. The
# text under the table is computed from this page's results. Every claim against the
# paper: the page *Paper versus reproduction*.

# %% tags=["hide-input"]
display(Markdown(synthetic_summary(results)))

# %% [markdown]
# ## The three attacks on the same models
#
# The attacked models of panel (e), each attacked as the authors wrote it, with exact
# normalisation, and with the strong attack (straight lines toward the opposite-class
# centres among its starts). Stored beside the figure's runs; at the `paper` profile
# they come from `prelu-robust compute synthetic --profile paper --commit`, at any other they
# are computed here.

# %% tags=["hide-input"]
if curves is None:
    display(Markdown("*Not in the store for these settings: `prelu-robust compute synthetic --profile paper` "
                     "with this page's settings computes them.*"))
else:
    fig = plots.variants_figure(curves, config)
    display(Markdown(variants_summary(curves, config)))
