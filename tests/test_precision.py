"""The product precision is chosen per machine (``"auto"``), recorded resolved in every
config (so in the store key), and the committed bf16 paper store is read on a machine
whose own choice is float32."""

import dataclasses

import pytest

from prelu_robust import precision
from prelu_robust.experiments import common, mnist, synthetic
from prelu_robust.validation import ParameterError


@pytest.fixture
def machine(monkeypatch):
    """Set what this machine's hardware says: ``machine(has_units, bf16_seconds)``."""
    def set_machine(has_units: bool, bf16_seconds: float = 1.0) -> None:
        monkeypatch.setattr(precision, "has_bf16_units", lambda: has_units)
        monkeypatch.setattr(precision, "typical_product_seconds",
                            lambda dtype, repeats=10: bf16_seconds if dtype is not precision.torch.float32 else 1.0)
        precision.machine_product_dtype.cache_clear()
    yield set_machine
    precision.machine_product_dtype.cache_clear()


def test_bf16_only_with_native_units_that_are_faster(machine):
    machine(has_units=False, bf16_seconds=0.1)  # an AVX2-only CPU: no units, whatever a timing says
    assert precision.machine_product_dtype("cpu") == "float32"
    machine(has_units=True, bf16_seconds=0.5)
    assert precision.machine_product_dtype("cpu") == "bfloat16"
    machine(has_units=True, bf16_seconds=0.95)  # units reported but not faster: float32
    assert precision.machine_product_dtype("cpu") == "float32"


def test_the_real_machine_choice_is_a_precision():
    assert precision.machine_product_dtype("cpu") in precision.PRODUCT_DTYPES
    assert precision.resolve_product_dtype("float32") == "float32"
    assert precision.resolve_product_dtype(None) is None
    with pytest.raises(ParameterError, match="product_dtype"):
        precision.resolve_product_dtype("fp8")


def test_a_config_holds_the_resolved_precision(machine):
    machine(has_units=False)
    config = synthetic.SyntheticConfig(product_dtype="auto")
    assert config.product_dtype == "float32"
    run = config.runs()[0]
    assert run.settings()["product_dtype"] == "float32"  # the store key says what computed it
    m = mnist.MnistConfig(product_dtype="auto", attack_product_dtype="auto")
    assert (m.product_dtype, m.attack_product_dtype) == ("float32", "float32")
    with pytest.raises(ParameterError, match="attack_product_dtype"):
        mnist.make_config("ci", attack_product_dtype="half")


def test_a_float32_machine_reads_the_stored_bf16_paper_runs():
    paper = synthetic.SyntheticConfig(product_dtype="float32")  # what "auto" gave this machine
    profiles = {"paper": paper, "ci": dataclasses.replace(paper, width=10)}
    stored = lambda config: config.product_dtype == "bfloat16"  # the committed store
    profile, config = common.resolve_profile(profiles, "auto", stored, {}, ("product_dtype",))
    assert (profile, config.product_dtype) == ("paper", "bfloat16")
    profile, config = common.resolve_profile(profiles, "paper", stored, {}, ("product_dtype",))
    assert (profile, config.product_dtype) == ("paper", "bfloat16")
    # asked for float32 explicitly: the stored bf16 runs are not what was asked for
    profile, config = common.resolve_profile(profiles, "auto", stored, {"product_dtype": "float32"},
                                             ("product_dtype",))
    assert (profile, config.width) == ("ci", 10)
    # nothing stored: the paper profile computes at the machine's precision
    profile, config = common.resolve_profile(profiles, "paper", lambda c: False, {}, ("product_dtype",))
    assert (profile, config.product_dtype) == ("paper", "float32")
