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
# # Paper versus reproduction
#
# Every claim of the paper that SPEC.md lists, checked against the store of the paper's
# settings: the table below is generated from `prelu_robust.claims` (the one list of the
# paper's numbers, sources and tolerances) and the stored runs, each time the book is
# built. A claim passes when our mean over the five repeats lies within the paper's
# value and its tolerance (a reading off a plot: about ±0.005 in accuracy, ±3% in
# distance; ±0.01 for MNIST, our allowance for the repeats' spread). "Not run" means
# the store holds no result of that estimator or experiment. The last column gives what
# a stronger estimator of ours finds for the same quantity, where it differs.

# %% tags=["parameters"]
results = None  # the store's folder; None: the committed store of the paper profile

# %%
from IPython.display import Markdown, display

from prelu_robust import claims
from prelu_robust.reporting import steering_note
from prelu_robust.store import ResultsStore, committed_store

store = committed_store() if results is None else ResultsStore(results)
rows = claims.check_all(store)
counts = {status: sum(r.status == status for r in rows) for status in (claims.PASS, claims.FAIL, claims.NOT_RUN)}
display(Markdown(f"**{len(rows)} claims: {counts[claims.PASS]} pass, {counts[claims.FAIL]} fail, "
                 f"{counts[claims.NOT_RUN]} not run.**"))

# %% [markdown]
# The estimators, by the names the table uses:

# %%
display(Markdown("\n".join(f"- *{name}*: {what}" for name, what in claims.estimators(claims.Stored(store)).items())))

# %%
display(Markdown(claims.markdown(rows)))

# %% [markdown]
# ## What the table cannot say
#
# **The synthetic rows are the attack variants** stored for the attacked models beside
# the figure's runs (panel (e) of the synthetic page draws all three; its section *The
# three attacks on the same models* tabulates them). One model steered several ways:
# `benchmarks/reports/RESULTS_ATTACK_FIDELITY_P*.md`.
#
# - *The p=3 floor for eps >= 1.071 is an artefact of the attack as written.* The authors
#   normalise each point's gradient of the batch-*mean* exp loss with a +1e-7 guard;
#   the gradient carries a factor exp(-y f)/n, so as a point's loss falls its step
#   shrinks under the guard and it stalls on the correct side. The as-written floor is
#   the paper's; the exact attack's (no guard; a point with a zero gradient stops) is
#   lower, and the strong attack breaks every point there.
# - *p=3 nets are robust up to about sqrt(2)/2, and not beyond.* Between sqrt(2)/2 and
#   0.857 every attack from the clean point reports accuracy near 1.0, above MV25's bound
#   1 - min(K1, K2)/K. A straight line from a test point toward an opposite-class centre
#   crosses the midpoint of the two centres once its length exceeds sqrt(2)/2, where
#   F^(3) changes sign: `attacks.strong` starts there and breaks the points (the row
#   "the largest accuracy over radii >= sqrt(2)/2"). Likewise p=1 nets break just past
#   1/sqrt(K) under the strong attack.
# - *p=1 at eps = 0.321 on the reference algorithm's net.* On its own p=1 net (80,200
#   plain SGD steps, `RESULTS_ATTACK_FIDELITY_P1_REFERENCE.md`), steered by its own
#   gradient, the attack as written also leaves fewer points than the paper reports, and
#   steered by the merged surrogate more: the paper's value at that radius is not
#   reproduced by the net's own attack on either schedule's nets (measured on 2,000 of
#   the 20,000 test points). The strong attack breaks every point at that radius
#   whatever steers it; for p=3 the steerings agree within the validation's tolerance.
#
# %% tags=["remove-input"]
display(Markdown("- " + steering_note(claims.Stored(store).synthetic_config)))

# %% [markdown]
# **Algorithm 1.** The paper's ~1e-5 for dist(f_3, F^(3)) is what its ascent as written
# returns: the same guard damps the steps, so the result is essentially the largest
# |c f - F| over the random starting points. `metrics.distance_to_ideal(written=True)`
# is that estimator (the *Algorithm 1 as written* rows); the store also holds the
# per-point ascent (each point its own objective, no 1/n under the guard), a better
# lower bound of the sup.
#
# **dist(f_1, F) at alpha = 0.01** sits above the paper's. The engine's training schedule
# (`loss_adaptive`) is not the cause: the reference's 80,200 plain SGD steps from the
# same data and initialisation reach the same distance
# (`RESULTS_ATTACK_FIDELITY_P1_REFERENCE.md` against `RESULTS_ATTACK_FIDELITY_P1.md`).
#
# **Cost.** What each figure costs from scratch, and what each change of engine moved, is on
# the page *How the engine works* and in `benchmarks/reports/`; the page *Reproducibility*
# sums what every stored entry recorded.
#
# ## MNIST
#
# The poster's MNIST panel and Table 1 are the ten-class setting (rows above). Table 1
# is on a fixed random draw of 1,000 test images, not yet on all 10,000: the draw's
# sampling error (a standard error of 0.016 at an accuracy of 0.5) is the size of the
# tolerance. `benchmarks/reports/RESULTS_TABLE1_FULL.md` attacks all 10,000 images, with
# the page's seeds, for all ten models (each retrained on the benchmark's CPU; mean and
# standard deviation over the five repeats), beside the draw. The paper publishes no
# numbers for parity; its stored curves against the poster's ten-class panel:

# %% tags=["remove-stderr"]
from prelu_robust.experiments import mnist
from prelu_robust.reporting import mnist_poster_comparison

_, parity_config = mnist.resolve_profile("paper", store, n_class=2, table1=False)  # at the stored precision
parity = mnist.run(parity_config, store=store, show_progress=False) if mnist.is_complete(parity_config, store) else None
display(Markdown(mnist_poster_comparison(parity) if parity else "*The parity runs are not in the store.*"))

# %% [markdown]
# ## Caltech-256
#
# Caltech-256 and ResNet-152's ImageNet weights cannot be downloaded where this book is
# built, so the table's Caltech-256 row is *not run*. The Caltech-256 page runs the
# paper's pipeline on an offline stand-in (real images, a real ImageNet backbone; its
# banner says which) and reports its own verdict on the paper's claim.
