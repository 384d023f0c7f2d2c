"""The fused CPU loops of prelu_robust.kernels against the torch formulas they replace."""

import pytest
import torch

from prelu_robust import kernels
from prelu_robust.models import PReLUNet

pytestmark = pytest.mark.skipif(not kernels.available(), reason="numba is not installed")


def _bf16(shape, gen, scale=1.0):
    return (torch.randn(shape, generator=gen) * scale).to(torch.bfloat16)


def test_update_rows_matches_torch_and_rounds_like_tensor_to():
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(37, 129, generator=gen) * 1e-3
    product = _bf16((37, 129), gen)
    factor, coef = 1 + 1e-2 * torch.randn(37, generator=gen), 1e-4 * torch.randn(37, generator=gen)
    expected = W * factor[:, None] + coef[:, None] * product.float()
    version = W._version
    W_bf16, w_sq = kernels.update_rows(W, product, factor, coef)
    assert W._version > version  # torch knows W changed
    assert (W - expected).abs().max() <= 2 * torch.finfo(torch.float32).eps * expected.abs().max()  # ulps
    assert torch.equal(W_bf16, W.to(torch.bfloat16))  # round to nearest even, bit for bit
    assert torch.allclose(w_sq, W.double().square().sum(1).float(), rtol=1e-6)


def test_bf16_rounding_breaks_ties_to_even():
    # float32 bit patterns exactly halfway between two bf16 numbers, and just above
    bits = torch.tensor([0x3F808000, 0x3F818000, 0x3F808001, -0x40800000 + 0x8000], dtype=torch.int32)
    W = bits.view(torch.float32).reshape(1, -1).clone()
    zero = torch.zeros(1, 4, dtype=torch.bfloat16)
    W_bf16, _ = kernels.update_rows(W, zero, torch.ones(1), torch.zeros(1))
    assert torch.equal(W_bf16, W.to(torch.bfloat16))


@pytest.mark.parametrize("p", [1.0, 2.5, 3.0])
def test_forward_and_backward_terms_match_torch(p):
    gen = torch.Generator().manual_seed(1)
    z = _bf16((11, 53), gen)
    coef, g = torch.randn(53, generator=gen), torch.randn(11, generator=gen)
    a = z.float().clamp_min(0)
    slope = (a > 0).float() if p == 1.0 else a.pow(p - 1.0)
    assert torch.allclose(kernels.forward_scores(z, coef, p), (slope * a) @ coef, rtol=1e-5, atol=1e-6)
    raw_grad_v, slope_bf16 = kernels.backward_terms(z, g, p)
    assert torch.allclose(raw_grad_v, g @ (slope * a), rtol=1e-5, atol=1e-6)
    assert torch.equal(slope_bf16, (g[:, None] * slope).to(torch.bfloat16))


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_fused_training_steps_follow_the_torch_steps(p, monkeypatch):
    """Ten bf16 steps with and without the fused loops: the same products in the same
    precision, sums in another order, so the weights agree to float32 rounding."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(64, 40, generator=gen).to(torch.bfloat16)
    y = torch.sign(torch.randn(64, generator=gen))
    nets = [PReLUNet(40, 30, p=p).init_small(0.1, torch.Generator().manual_seed(3)) for _ in range(2)]
    for fused, net in zip((True, False), nets):
        monkeypatch.setattr(kernels, "available", lambda fused=fused: fused)
        for _ in range(10):
            grad = net.param_grad(x, lambda f: -y * torch.exp(-y * f) / len(y))
            net.sgd_step(grad, 0.01)
    fused_net, torch_net = nets
    assert fused_net._weight_cache is not None and torch_net._weight_cache is None
    w_bf16, w_sq = fused_net._weight_terms(torch.bfloat16)  # left by the last fused step
    assert torch.equal(w_bf16, fused_net.W.detach().to(torch.bfloat16))
    assert torch.allclose(w_sq, fused_net.W.detach().square().sum(1), rtol=1e-6)
    start = PReLUNet(40, 30, p=p).init_small(0.1, torch.Generator().manual_seed(3))
    with torch.no_grad():
        for fused_param, torch_param, start_param in zip(fused_net.parameters(), torch_net.parameters(),
                                                         start.parameters()):
            moved = (torch_param - start_param).abs().max()
            assert (fused_param - torch_param).abs().max() < 1e-3 * moved


@pytest.mark.parametrize("p", (1.0, *kernels.HIDDEN_POWERS))
@pytest.mark.parametrize("normalize_input", [False, True])
def test_float32_hidden_units_are_bit_identical_to_the_torch_ops(p, normalize_input, monkeypatch):
    gen = torch.Generator().manual_seed(5)
    net = PReLUNet(64, 300, p=p, out_dim=10, normalize_input=normalize_input,
                   center=torch.randn(64, generator=gen) if normalize_input else None)
    net.init_reference_mnist(gen)
    x = torch.randn(50, 64, generator=gen)
    x[1] *= 1e-12  # units far below float32's normal range
    if normalize_input:
        x[0] = net.center  # a zero centred input: the clamped norm
    weights = torch.randn(50, 10, generator=gen)
    calls = []
    for name in ("hidden_units", "hidden_units_backward", "relu_backward"):
        loop = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, loop=loop, name=name: calls.append(name) or loop(*a))
    results = []
    for fused in (True, False):
        monkeypatch.setattr(kernels, "available", lambda fused=fused: fused)
        xr = x.clone().requires_grad_(True)
        out = net(xr)
        results.append((out.detach(), *torch.autograd.grad((out * weights).sum(), [xr, net.W, net.v])))
    # the loops ran once, on the first pass only
    assert calls == (["relu_backward"] if p == 1.0 else ["hidden_units", "hidden_units_backward"])
    for fused, plain in zip(*results):
        assert torch.equal(fused, plain)

