"""prelu_robust: the library behind the reproducible companion to
Min & Vidal, *Can Implicit Bias Imply Adversarial Robustness?* (ICML 2024).

The public face is a handful of names; everything else lives in one module per idea
(see the book's *Library* page):

- data and models: :class:`MixtureSpec`, :func:`sample_mixture`, :class:`PReLUNet`, :func:`ideal_net`;
- attacks: :class:`L2Attack` with :func:`robust_accuracy_curve` (l2 PGD), :func:`evaluate`
  (clean and APGD-CE robust accuracy of any classifier in one call) over :func:`apgd_curve`
  (AutoAttack's APGD-CE), and :class:`SpanEngine` (the fast, exact-verdict setup of both
  the PGD attacks and Algorithm 1 on a trained net);
- experiments: ``experiments.synthetic``, ``experiments.mnist``, ``experiments.alignment``,
  each with ``make_config`` and ``run``; their results live in a :class:`ResultsStore`.
"""

__version__ = "0.1.0"

from . import experiments
from .attacks import L2Attack, apgd_curve, evaluate, robust_accuracy_curve
from .data.gmm import MixtureSpec, sample_mixture
from .engine import SpanEngine
from .models import PReLUNet, ideal_net
from .store import ResultsStore, default_store
from .validation import ParameterError

__all__ = ["__version__", "experiments", "MixtureSpec", "sample_mixture", "PReLUNet", "ideal_net", "L2Attack",
           "robust_accuracy_curve", "evaluate", "apgd_curve", "SpanEngine", "ResultsStore", "default_store", "ParameterError"]
