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


def _exact_and_magnitude(a, b):
    """The exact product of bf16 ``a`` (n, d) and ``b`` (d, m) and ``|a| @ |b|``, in float64
    (exact: d < 2^29 products of 8-bit significands)."""
    a64, b64 = a.double(), b.double()
    return a64 @ b64, a64.abs() @ b64.abs()


@pytest.mark.parametrize("has_units", [False, True])
def test_a_bf16_product_is_within_its_rounding_of_the_exact_one(monkeypatch, has_units):
    """Either way (native bf16 or float32 on the bf16 values) the result is the exact
    product summed in float32 (error <= gamma_d |a||b|, gamma_d = d u / (1 - d u), u = 2^-24)
    and rounded to bf16 (relative error <= 2^-8)."""
    monkeypatch.setattr(precision, "has_bf16_units", lambda: has_units)
    gen = precision.torch.Generator().manual_seed(0)
    a = precision.torch.randn(64, 784, generator=gen).to(precision.torch.bfloat16)
    b = precision.torch.randn(784, 96, generator=gen).to(precision.torch.bfloat16)
    got = precision.bf16_product(precision.torch.matmul, a, b)
    assert got.dtype == precision.torch.bfloat16
    exact, magnitude = _exact_and_magnitude(a, b)
    u, d = 2.0**-24, a.shape[1]
    summed = d * u / (1 - d * u) * magnitude
    bound = summed + 2.0**-8 * (exact.abs() + summed)
    assert bool(((got.double() - exact).abs() <= bound).all())


def test_a_cpu_without_bf16_units_multiplies_the_bf16_values_in_float32(monkeypatch):
    """The emulation is exactly 'float32 product of the bf16 values, rounded to bf16', and a
    CPU with the units runs torch's own bf16 product unchanged (its stored runs stay bit-identical)."""
    torch = precision.torch
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(50, 300, generator=gen).to(torch.bfloat16)
    w = torch.randn(40, 300, generator=gen).to(torch.bfloat16)
    linear = torch.nn.functional.linear
    monkeypatch.setattr(precision, "has_bf16_units", lambda: False)
    assert torch.equal(precision.bf16_product(linear, x, w), linear(x.float(), w.float()).to(torch.bfloat16))
    monkeypatch.setattr(precision, "has_bf16_units", lambda: True)
    assert torch.equal(precision.bf16_product(linear, x, w), linear(x, w))
    floats = x.float(), w.float()  # other dtypes: multiplied as given
    assert precision.bf16_product(linear, *floats).dtype == torch.float32


def test_the_paper_runs_are_read_with_exact_steering_where_stored_else_merged():
    """The paper profile steers exactly; its runs stored only with the first store's merged
    steering are read as they are, and once stored with exact steering those are read."""
    paper = synthetic.SyntheticConfig(product_dtype="bfloat16")
    profiles = {"paper": paper, "ci": dataclasses.replace(paper, width=10)}
    alternatives = synthetic.STORED_ALTERNATIVES
    merged_only = lambda config: config.steering == synthetic.MERGED
    profile, config = common.resolve_profile(profiles, "auto", merged_only, {}, ("product_dtype",), alternatives)
    assert (profile, config.steering, config.product_dtype) == ("paper", synthetic.MERGED, "bfloat16")
    both = lambda config: True
    profile, config = common.resolve_profile(profiles, "auto", both, {}, ("product_dtype",), alternatives)
    assert (profile, config.steering) == ("paper", "exact")
    # asked for exact steering explicitly: the merged runs are not what was asked for
    profile, config = common.resolve_profile(profiles, "auto", merged_only, {"steering": "exact"}, ("product_dtype",),
                                             alternatives)
    assert (profile, config.width) == ("ci", 10)
