
import pytest
import torch

from prelu_robust import ParameterError
from prelu_robust.data.gmm import MixtureSpec
from prelu_robust.models import (
    PReLUNet,
    bayes_log_odds,
    class_average_classifier,
    ideal_classifier,
    products_in,
    relu_power,
    subclass_classifier,
)

SPEC = MixtureSpec(dim=5, n_clusters=4, n_positive=2, alpha=0.1)


def test_ideal_classifiers_on_hand_picked_points():
    x = torch.tensor([
        [1.0, 0.0, 0.0, 0.0, 9.0],   # mu_1: F = 1, F^(3) = 1
        [0.0, 0.0, 1.0, 0.0, 0.0],   # mu_3: F = -1, F^(3) = -1
        [0.5, 0.5, 0.0, 0.0, 0.0],   # class average: F = 1, F^(3) = 2 * 0.125
        [0.3, -0.5, 0.2, 0.4, 0.0],  # F = relu(-0.2) - relu(0.6); F^(3) = .027 - (.008 + .064)
    ])
    assert class_average_classifier(x, SPEC).tolist() == pytest.approx([1.0, -1.0, 1.0, -0.6])
    assert subclass_classifier(x, SPEC, 3).tolist() == pytest.approx([1.0, -1.0, 0.25, 0.027 - 0.072])
    assert ideal_classifier(x, SPEC, 1).tolist() == class_average_classifier(x, SPEC).tolist()
    assert ideal_classifier(x, SPEC, 3).tolist() == subclass_classifier(x, SPEC, 3).tolist()


def test_prelu_net_matches_its_formula():
    net = PReLUNet(3, 2, p=3.0)
    with torch.no_grad():
        net.W.copy_(torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]]))
        net.v.copy_(torch.tensor([[2.0, -1.0]]))
    x = torch.tensor([[1.0, 0.0, 1.0], [-1.0, 0.0, -1.0]])
    # unit 1: relu(1)^3 / sqrt(2)^2 = 0.5; unit 2: relu(2)^3 / 2^2 = 2 -> f = 2*0.5 - 2 = -1
    assert net(x).tolist() == pytest.approx([-1.0, 0.0])


def test_normalize_input_makes_the_net_one_homogeneous():
    gen = torch.Generator().manual_seed(0)
    net = PReLUNet(6, 8, p=3.0, out_dim=3, normalize_input=True, bias=False).init_reference_mnist(gen)
    x = torch.randn(4, 6, generator=gen)
    assert torch.allclose(net(2.5 * x), 2.5 * net(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("p", [1.0, 2.5, 3.0])
def test_closed_form_gradients_match_autograd(p):
    gen = torch.Generator().manual_seed(1)
    net = PReLUNet(7, 5, p=p).init_small(0.5, gen).double()
    x = torch.randn(9, 7, generator=gen, dtype=torch.float64)
    y = torch.sign(torch.randn(9, generator=gen, dtype=torch.float64))
    loss = torch.exp(-y * net(x)).mean()
    gW, gv = torch.autograd.grad(loss, [net.W, net.v])
    grad = net.param_grad(x, lambda f: -y * torch.exp(-y * f) / len(y))
    f, my_gW, my_gv = grad.scores, grad.grad_W(net.W.detach()), grad.grad_v[None, :]
    assert torch.allclose(f, net(x).detach())
    assert torch.allclose(my_gW, gW) and torch.allclose(my_gv, gv)
    xr = x.clone().requires_grad_(True)
    (g_x,) = torch.autograd.grad(net(xr).sum(), xr)
    assert torch.allclose(net.score_and_input_grad(x)[1], g_x)


def _features_by_autograd(net: PReLUNet, x: torch.Tensor) -> torch.Tensor:
    """The plain composition that PReLUNet.features fuses."""
    x = x if net.center is None else x - net.center
    units = relu_power(x @ net.W.T, net.p)
    if net.p == 1.0:
        return units
    units = units * net.W.norm(dim=1).pow(1 - net.p)
    if net.normalize_input:
        units = units * x.norm(dim=1, keepdim=True).clamp_min(1e-12).pow(1 - net.p)
    return units


@pytest.mark.parametrize("p", [1.0, 2.0, 2.5, 3.0, 4.0])
@pytest.mark.parametrize("normalize_input, centred", [(False, False), (True, False), (True, True)])
def test_fused_features_match_autograd_in_value_and_gradient(p, normalize_input, centred):
    gen = torch.Generator().manual_seed(2)
    center = torch.randn(6, generator=gen, dtype=torch.float64) if centred else None
    net = PReLUNet(6, 5, p=p, out_dim=3, normalize_input=normalize_input, center=center).double()
    net.init_reference_mnist(gen)
    x = torch.randn(8, 6, generator=gen, dtype=torch.float64)
    x[0] = 0.0 if center is None else center  # a zero (centred) input: the clamped norm
    weights = torch.randn(8, 5, generator=gen, dtype=torch.float64)
    grads = []
    for features in (net.features, lambda x: _features_by_autograd(net, x)):
        xr = x.clone().requires_grad_(True)
        units = features(xr)
        grads.append((units.detach(), *torch.autograd.grad((units * weights).sum(), [xr, net.W])))
    for fused, reference in zip(*grads):
        assert torch.allclose(fused, reference, rtol=1e-12, atol=1e-12)


def test_bf16_products_round_the_output_only_slightly():
    gen = torch.Generator().manual_seed(3)
    net = PReLUNet(784, 500, p=3.0, out_dim=10, normalize_input=True, center=torch.rand(784, generator=gen))
    net.init_reference_mnist(gen)
    x = torch.rand(64, 784, generator=gen)
    exact = net(x)
    with products_in(net, torch.bfloat16):
        rounded = net(x)
    assert net.product_dtype is None and rounded.dtype == torch.float32
    assert 0 < (rounded - exact).abs().max() < 1e-2 * exact.abs().max()


@pytest.mark.parametrize("p", [1.0, 4.0])
def test_frozen_weight_terms_are_reused_until_the_weights_change(p):
    gen = torch.Generator().manual_seed(4)
    net = PReLUNet(20, 7, p=p, out_dim=3, normalize_input=True, center=torch.rand(20, generator=gen))
    net.init_reference_mnist(gen)
    x = torch.rand(9, 20, generator=gen, requires_grad=True)

    def output_and_input_grad():
        out = net(x)
        return out.detach(), torch.autograd.grad((out * out).sum(), x)[0]

    trained = [output_and_input_grad() for _ in range(2)]  # W requires grad: nothing is cached
    assert net._weight_cache is None
    net.requires_grad_(False)
    frozen = [output_and_input_grad() for _ in range(2)]
    assert net._weight_cache is not None
    for got in (trained[1], *frozen):
        assert all(torch.equal(a, b) for a, b in zip(got, trained[0]))  # bit-identical
    with torch.no_grad():
        net.W.mul_(1.5)  # in place: the cached terms are stale
    changed = output_and_input_grad()
    net._weight_cache = None
    assert all(torch.equal(a, b) for a, b in zip(changed, output_and_input_grad()))
    assert not torch.equal(changed[0], trained[0][0])
    with products_in(net, torch.bfloat16):  # another product dtype: new terms
        rounded = output_and_input_grad()
    assert not torch.equal(rounded[0], changed[0])
    net._weight_cache = None
    with products_in(net, torch.bfloat16):
        assert all(torch.equal(a, b) for a, b in zip(rounded, output_and_input_grad()))
    net.double()  # the same parameter object, new storage
    x = x.detach().double().requires_grad_(True)
    converted = output_and_input_grad()
    net._weight_cache = None
    assert converted[0].dtype == torch.float64
    assert all(torch.equal(a, b) for a, b in zip(converted, output_and_input_grad()))


def test_bayes_log_odds_has_the_sign_of_the_bayes_classifier():
    spec = MixtureSpec(dim=5, n_clusters=4, n_positive=2, alpha=1.0)
    x = torch.randn(50, 5, dtype=torch.float64)
    logits = x[:, :4] * spec.dim / spec.alpha**2
    direct = logits[:, :2].exp().sum(1) - logits[:, 2:].exp().sum(1)
    assert torch.equal(torch.sign(bayes_log_odds(x, spec)), torch.sign(direct))
    tiny = MixtureSpec(dim=1000, n_clusters=4, n_positive=2, alpha=0.01)  # exp would overflow
    assert torch.isfinite(bayes_log_odds(torch.eye(4, 1000), tiny)).all()


def test_invalid_model_settings_name_the_parameter():
    with pytest.raises(ParameterError, match=r"p=0\.5.*>= 1"):
        PReLUNet(3, 2, p=0.5)
    with pytest.raises(ParameterError, match="width"):
        PReLUNet(3, 0)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 4.0, 2.5])
def test_relu_power_matches_pow_in_value_and_gradient(p):
    z = torch.linspace(-2, 2, 41, dtype=torch.float64, requires_grad=True)
    fast = relu_power(z, p)
    (grad_fast,) = torch.autograd.grad(fast.sum(), z)
    slow = z.clamp_min(0).pow(p)
    (grad_slow,) = torch.autograd.grad(slow.sum(), z)
    torch.testing.assert_close(fast, slow, rtol=1e-14, atol=0)
    torch.testing.assert_close(grad_fast, grad_slow, rtol=1e-14, atol=0)


def test_a_state_dict_in_the_authors_layout_gives_their_function():
    """Their unit j: relu(<x - c, W[:, j]>)^p / ||W[:, j]||^(p-1) / ||x - c||^(p-1), then a linear layer."""
    g = torch.Generator().manual_seed(0)
    in_dim, width, out = 6, 5, 3
    state = {"center": torch.randn(1, in_dim, generator=g, dtype=torch.float64),
             "prelulayer.W": torch.randn(in_dim, width, generator=g, dtype=torch.float64),
             "output_net.weight": torch.randn(out, width, generator=g, dtype=torch.float64),
             "output_net.bias": torch.randn(out, generator=g, dtype=torch.float64)}
    x = torch.randn(8, in_dim, generator=g, dtype=torch.float64)
    W, xc = state["prelulayer.W"], x - state["center"]
    for p in (1.0, 3.0):
        net = PReLUNet.from_authors_state_dict(state, p)
        units = torch.relu(xc @ W) ** p / W.norm(dim=0) ** (p - 1) / xc.norm(dim=1, keepdim=True) ** (p - 1)
        expected = units @ state["output_net.weight"].T + state["output_net.bias"]
        # float64, sums of six terms of size ~1: rounding ~1e-15, far inside 1e-12
        assert torch.allclose(net(x), expected, rtol=1e-12, atol=1e-12)
    without_bias = {k: v for k, v in state.items() if k != "output_net.bias"}
    assert PReLUNet.from_authors_state_dict(without_bias, 2.0).b is None
    with pytest.raises(ParameterError, match="prelulayer.W"):
        PReLUNet.from_authors_state_dict({k: v for k, v in state.items() if k != "prelulayer.W"}, 1.0)
    with pytest.raises(ParameterError, match="output_net.weight"):
        PReLUNet.from_authors_state_dict({**state, "output_net.weight": state["output_net.weight"][:, :4]}, 1.0)
