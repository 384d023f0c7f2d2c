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
# # Caltech-256: a pReLU probe on frozen ImageNet features (§5.2.2)
#
# Photographs go once through a frozen ImageNet backbone; a pReLU net is trained with
# Adam on the pooled features to predict a *superclass*, the fine label mod 10. Each
# superclass thus merges unrelated objects (about 26 of Caltech-256's categories): the
# latent subclasses of the theory. The paper's claim: "pReLU achieves higher test
# accuracy and is more robust when p gets larger", even for this multi-class task.
# Panels: **(a)** cosine similarity of centred training features, sorted by superclass;
# **(b)** train and test accuracy per epoch; **(c)** stable rank of the hidden features;
# **(d)** robust accuracy under APGD-CE in the feature space.
#
# The banner below says which images and which backbone produced this page.

# %% tags=["parameters", "remove-cell"]
profile = "auto"  # "ci", "paper" or "auto" (paper if stored)
device = "auto"  # "auto", "cpu" or "cuda"
force = False  # recompute even what is stored (the features stay cached)
data_root = None  # folder holding caltech256/ (and MNIST/, FashionMNIST/ for the stand-in); default $PRELU_ROBUST_DATA or data/
# Overrides of the profile's settings (experiments.caltech.CaltechConfig); None keeps the profile's value.
dataset = "caltech256"  # "caltech256" (the paper's) or "digits_garments" (the offline stand-in: MNIST digits and Fashion-MNIST garments)
backbone = "resnet152"  # "resnet152" (the paper's, IMAGENET1K_V2) or "efficientnet_lite2" (the offline stand-in)
n_images = None  # images drawn at random (None: all of Caltech-256, 18,000 of the stand-in)
powers = None  # exponents p
width = None  # hidden neurons
lr = None  # Adam step
batch_size = None  # Adam batch
epochs = None  # epochs
repeats = None  # repeats per p
eps_grid = None  # Linf radii of panel (d), in feature units
attack_points = None  # test images attacked (None: all)
attack_batch = None  # APGD-CE batch
box_margin = None  # margin of the attack's [0, 1] box around the features' range
correlation_points = None  # training images of panel (a)
seed = None  # seed of every draw
product_dtype = None  # "auto" (bf16 where the CPU/GPU has bf16 units), "bfloat16" or "float32": the first layer's product in training

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from prelu_robust import plots
from prelu_robust.experiments import caltech
from prelu_robust.experiments.common import notebook_overrides
from prelu_robust.reporting import caltech_banner, caltech_summary, page_metadata, page_parameters

page_profile, config = caltech.resolve_profile(profile, **notebook_overrides(globals(), caltech.CaltechConfig))
results = caltech.run(config, page_profile, device=device, force=force, data_root=data_root)
display(Markdown(caltech_banner(results)), metadata=page_metadata(results))
display(Markdown(page_parameters("notebooks/caltech256.py", globals(), config)))

# %% tags=["hide-input"]
fig = plots.caltech_figure(results)

# %% [markdown]
# ## Does accuracy, and robustness, grow with p?
#
# Final test accuracy and robust accuracy at the middle and the largest radius, mean
# [min, max] over the repeats; the verdicts are computed from these numbers.

# %% tags=["hide-input"]
display(Markdown(caltech_summary(results)))
