"""Every setting of an experiment is a parameter of its notebook, and only those (besides
the runner's: profile, device, force, data_root): adding a setting to a config is caught
here until the notebook offers it, and the notebook passes its parameters on unnamed."""

import dataclasses

import pytest

from prelu_robust import ParameterError, paths
from prelu_robust.experiments import EXPERIMENTS
from prelu_robust.experiments.common import notebook_overrides
from prelu_robust.run_notebook import notebook_parameters, parameter_mismatch, read_notebook


def declared(notebook: str) -> dict:
    return notebook_parameters(read_notebook(paths.NOTEBOOKS / notebook))


def config_type(experiment) -> type:
    return type(experiment.PROFILES["paper"])


@pytest.mark.parametrize("notebook", sorted(EXPERIMENTS))
def test_the_notebook_offers_exactly_the_config_fields(notebook):
    missing, extra = parameter_mismatch(declared(notebook), config_type(EXPERIMENTS[notebook]))
    assert (missing, extra) == ([], []), f"{notebook}: lacks {missing}, has unknown {extra}"


def test_a_new_config_field_without_a_notebook_parameter_is_caught():
    base = config_type(EXPERIMENTS["synthetic_gmm.py"])
    grown = dataclasses.make_dataclass("GrownConfig", [("new_setting", int, dataclasses.field(default=3))],
                                       bases=(base,), frozen=True)
    params = declared("synthetic_gmm.py")
    assert parameter_mismatch(params, grown) == (["new_setting"], [])
    with pytest.raises(ParameterError, match="new_setting"):
        notebook_overrides(params, grown)  # the notebook's own call would stop too


def test_the_notebook_passes_every_field_on():
    params = declared("mnist.py")
    overrides = notebook_overrides(params, config_type(EXPERIMENTS["mnist.py"]))
    assert overrides["n_class"] == 10 and set(overrides) == {f.name for f in dataclasses.fields(
        config_type(EXPERIMENTS["mnist.py"]))}
