"""Experiments: compose the core modules, read and write the results store,
return plain arrays for the plots. One module per figure, each with a frozen
config (``make_config(profile, **overrides)``), its runs (frozen dataclasses whose
``settings()`` are their store keys) and ``run(config, profile)``.

``EXPERIMENTS`` maps each figure notebook to its experiment module.
"""

from . import alignment, caltech, mnist, synthetic

__all__ = ["alignment", "caltech", "mnist", "synthetic", "EXPERIMENTS"]

#: Figure notebook (in ``notebooks/``) -> the experiment behind it.
EXPERIMENTS = {"synthetic_gmm.py": synthetic, "mnist.py": mnist, "caltech256.py": caltech, "neuron_alignment.py": alignment}
