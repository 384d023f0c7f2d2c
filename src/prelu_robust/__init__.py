"""prelu_robust: the library behind the reproducible companion to
Min & Vidal, *Can Implicit Bias Imply Adversarial Robustness?* (ICML 2024).

Core (no notebooks, no store): :mod:`gmm`, :mod:`models`, :mod:`train`,
:mod:`attacks`, :mod:`metrics`. Around it: :mod:`store` (results keyed by
configuration), :mod:`experiments` (compose the core, read/write the store),
:mod:`plots` (draw stored results) and :mod:`run_notebook` (papermill driver).
"""

__version__ = "0.1.0"

from .data.gmm import MixtureSpec, Samples, sample_mixture
from .models import (
                     PReLUNet,
                     bayes_log_odds,
                     class_average_classifier,
                     ideal_classifier,
                     ideal_net,
                     subclass_classifier,
)
from .validation import ParameterError

__all__ = [
    "MixtureSpec", "Samples", "sample_mixture", "PReLUNet", "class_average_classifier",
    "subclass_classifier", "ideal_classifier", "ideal_net", "bayes_log_odds", "ParameterError", "__version__",
]
