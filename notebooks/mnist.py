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

# %% tags=["parameters", "remove-cell"]
profile = "auto"  # "ci", "paper" or "auto" (paper if stored)
device = "auto"  # "auto", "cpu" or "cuda"
force = False  # recompute even what is stored (retrains the models)
data_root = None  # folder holding MNIST/raw/ (default: $PRELU_ROBUST_DATA or data/)
# Overrides of the profile's settings (experiments.mnist.MnistConfig); None keeps the profile's value.
n_class = 10  # 2: parity (§5.2.1); 10: ten classes (Appendix B)
split = None  # "paper" (50k/10k from the training set) or "official" (60k/10k)
n_train = None  # training images (None: all)
n_test = None  # test images (None: all)
powers = None  # exponents p
width = None  # hidden neurons
lr = None  # Adam step
batch_size = None  # Adam batch
epochs = None  # epochs
repeats = None  # repeats per p
eps_grid = None  # Linf radii of panel (d)
attack_points = None  # test images attacked (None: all)
table1 = None  # also attack Table 1's six (norm, radius) pairs
table1_points = None  # test images of Table 1 (None: those of the curve)
attack_batch = None  # APGD-CE batch
correlation_points = None  # training images of panel (a)
seed = None  # seed of every draw
product_dtype = None  # "auto" (bf16 where the CPU/GPU has bf16 units), "bfloat16" or "float32": the first layer's product in training
attack_product_dtype = None  # the same inside APGD-CE (verdicts stay float32)

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from prelu_robust import plots
from prelu_robust.experiments import mnist
from prelu_robust.experiments.common import notebook_overrides
from prelu_robust.reporting import mnist_banner, mnist_summary, page_metadata, page_parameters

page_profile, config = mnist.resolve_profile(profile, **notebook_overrides(globals(), mnist.MnistConfig))
results = mnist.run(config, page_profile, device=device, force=force, data_root=data_root)
display(Markdown(mnist_banner(results)), metadata=page_metadata(results))
display(Markdown(page_parameters("notebooks/mnist.py", globals(), config)))

# %% tags=["hide-input"]
fig = plots.mnist_figure(results)

# %% [markdown]
# ## Against the paper
#
# The paper's robust accuracies (read off its poster; the authors' released ten-class
# models reproduce them) are for ten classes; no numbers are published for parity.

# %% tags=["hide-input"]
display(Markdown(mnist_summary(results)))
