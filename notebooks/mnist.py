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
# # MNIST: robustness of pReLU networks on real digits (§5.2.1, Appendix B)
#
# A pReLU net 784-500-$n_{\rm class}$ is trained with Adam on real MNIST (labels:
# digit mod $n_{\rm class}$; 2 is parity, 10 the digits) and attacked with AutoAttack's
# APGD-CE in $\ell_\infty$. The paper's claim: as $p$ grows, clean accuracy stays
# about the same while robust accuracy and the stable rank of the hidden features
# grow. Panels: **(a)** cosine similarity of centred training digits, sorted by digit;
# **(b)** train and test accuracy per epoch; **(c)** stable rank of the hidden
# features; **(d)** robust accuracy against the radius.

# %% tags=["parameters"]
profile = "auto"  # "ci", "paper" or "auto" (paper if stored)
n_class = 10  # 2: parity (§5.2.1); 10: ten classes (Appendix B)
device = "auto"
force = False
data_root = None  # folder holding MNIST/raw/ (default: $PRELU_ROBUST_DATA or data/)
split = None  # "paper" (50k/10k from the training set) or "official" (60k/10k)
n_train = None
n_test = None
powers = None
width = None
lr = None
batch_size = None
epochs = None
repeats = None
eps_grid = None
attack_points = None
table1 = None
seed = None

# %%
from IPython.display import Markdown, display

from prelu_robust import plots
from prelu_robust.experiments import mnist
from prelu_robust.reporting import mnist_banner, mnist_summary

overrides = dict(n_class=n_class, split=split, n_train=n_train, n_test=n_test, powers=powers, width=width, lr=lr,
                 batch_size=batch_size, epochs=epochs, repeats=repeats, eps_grid=eps_grid,
                 attack_points=attack_points, table1=table1, seed=seed)
profile, config = mnist.resolve_profile(profile, **overrides)
results = mnist.run(config, profile, device=device, force=force, data_root=data_root)
display(Markdown(mnist_banner(results)))

# %%
fig = plots.mnist_figure(results)

# %% [markdown]
# ## Against the paper
#
# The paper's robust accuracies (read off its poster; the authors' released ten-class
# models reproduce them) are for ten classes; no numbers are published for parity.

# %%
display(Markdown(mnist_summary(results)))
