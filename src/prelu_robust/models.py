"""The pReLU network and the ideal classifiers it is compared with.

``f_p(x) = sum_j v_j relu(<x, w_j>)^p / ||w_j||^(p-1)``   (paper, eq. 2)

With ``normalize_input`` (the real-data variant) ``x`` is first centred and each
unit is also divided by ``||x||^(p-1)``, which makes the net 1-homogeneous in ``x``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import torch
from torch import nn

from . import kernels
from .data.gmm import MixtureSpec
from .precision import bf16_product
from .validation import require

__all__ = ["PReLUNet", "ParamGrad", "products_in", "relu_power", "matmul_in", "aligns_with_class_averages",
           "class_average_classifier", "subclass_classifier", "ideal_classifier", "ideal_net", "bayes_log_odds"]

Tensor = torch.Tensor


class PReLUNet(nn.Module):
    """Shallow pReLU network with ``width`` hidden units and exponent ``p >= 1``.

    Parameters: ``W`` (width, in_dim), ``v`` (out_dim, width), optional bias
    ``b`` (out_dim,). ``forward`` maps (n, in_dim) to (n,) when ``out_dim == 1``
    and to (n, out_dim) otherwise.

    ``product_dtype`` (None: the parameters' own) is the precision of the one
    large product, ``x @ W.T``, in :meth:`features` and in its autograd backward
    (``bfloat16``: fast on CPUs with bf16 dot products, pre-activations
    rounded to 8 significant bits). Everything else stays in the parameters'
    precision. A plain attribute, not state: see :func:`products_in`.

    The terms the hidden layer derives from ``W`` alone (``W`` in the product dtype,
    its squared row norms) are kept while they are valid: while ``W`` is frozen
    (``requires_grad`` off, as under attack) they are computed once and reused until
    ``W`` is changed in place or replaced, and :meth:`sgd_step` leaves those of the
    weights it writes.
    """

    product_dtype: torch.dtype | None = None
    _weight_cache: tuple | None = None  # (key, a view of W, terms): see _weight_terms

    def __init__(self, in_dim: int, width: int, p: float = 1.0, out_dim: int = 1, *,
                 normalize_input: bool = False, center: Tensor | None = None,
                 bias: bool = False) -> None:
        super().__init__()
        require(in_dim >= 1, "in_dim", in_dim, "an integer >= 1")
        require(width >= 1, "width", width, "an integer >= 1")
        require(float(p) >= 1.0, "p", p, "a real number >= 1 (p=1 is a ReLU net)")
        require(out_dim >= 1, "out_dim", out_dim, "an integer >= 1")
        self.p = float(p)
        self.normalize_input = normalize_input
        self.W = nn.Parameter(torch.empty(width, in_dim))
        self.v = nn.Parameter(torch.empty(out_dim, width))
        self.b = nn.Parameter(torch.zeros(out_dim)) if bias else None
        if center is not None:
            require(tuple(center.shape) == (in_dim,), "center", tuple(center.shape), f"shape ({in_dim},)")
        self.register_buffer("center", None if center is None else center.detach().clone())

    @property
    def width(self) -> int:
        return self.W.shape[0]

    @property
    def out_dim(self) -> int:
        return self.v.shape[0]

    # -- initialisation ---------------------------------------------------
    @torch.no_grad()
    def init_small(self, scale: float, generator: torch.Generator) -> "PReLUNet":
        """Every entry of ``W`` and ``v`` i.i.d. ``N(0, scale^2)`` (Section 5.1)."""
        self.W.copy_(torch.randn(self.W.shape, generator=generator) * scale)
        self.v.copy_(torch.randn(self.v.shape, generator=generator) * scale)
        if self.b is not None:
            self.b.zero_()
        return self

    @torch.no_grad()
    def init_reference_mnist(self, generator: torch.Generator) -> "PReLUNet":
        """The reference code's real-data initialisation.

        It stores ``W`` as (in_dim, width) and calls ``kaiming_uniform_``, whose
        fan-in is then ``width``: ``U(+-sqrt(6/width))``. The output layer is a
        default ``nn.Linear``: weight and bias ``U(+-1/sqrt(width))``.
        """
        bound_w = math.sqrt(6.0 / self.width)
        bound_v = 1.0 / math.sqrt(self.width)
        self.W.copy_((torch.rand(self.W.shape, generator=generator) * 2 - 1) * bound_w)
        self.v.copy_((torch.rand(self.v.shape, generator=generator) * 2 - 1) * bound_v)
        if self.b is not None:
            self.b.copy_((torch.rand(self.b.shape, generator=generator) * 2 - 1) * bound_v)
        return self

    # -- the authors' layout -------------------------------------------------
    #: The state-dict keys of the authors' ``ShallowPreluNet`` (github hanchmin/pReLU_ICML24).
    AUTHORS_KEYS = ("center", "prelulayer.W", "output_net.weight")

    @classmethod
    @torch.no_grad()
    def from_authors_state_dict(cls, state: Mapping[str, Tensor], p: float, *,
                                normalize_input: bool = True) -> "PReLUNet":
        """The net of a state dict in the authors' layout, such as their released MNIST
        models (``pReLU_pretrained_models/pReLU_{p}_pretrained.pt``)::

            net = PReLUNet.from_authors_state_dict(torch.load("pReLU_4_pretrained.pt"), p=4).eval()

        Their layout: ``prelulayer.W`` (in_dim, width), the transpose of ``W``;
        ``output_net.weight`` (out_dim, width), our ``v``; ``output_net.bias`` (out_dim,)
        when the output layer has one; ``center`` (1, in_dim). The exponent is not stored
        (their forward takes it), and their forward normalises the input by default.
        """
        missing = [key for key in cls.AUTHORS_KEYS if key not in state]
        require(not missing, "state dict", sorted(state), f"the keys {', '.join(cls.AUTHORS_KEYS)} "
                f"(and output_net.bias when the output layer has a bias); it lacks {', '.join(missing)}")
        W, v, center = state["prelulayer.W"], state["output_net.weight"], state["center"].reshape(-1)
        bias = state.get("output_net.bias")
        require(W.ndim == 2 and v.ndim == 2 and v.shape[1] == W.shape[1], "output_net.weight", tuple(v.shape),
                f"(out_dim, {W.shape[1] if W.ndim == 2 else 'width'}), the width of prelulayer.W {tuple(W.shape)}")
        require(center.numel() == W.shape[0], "center", tuple(state["center"].shape), f"(1, {W.shape[0]})")
        net = cls(W.shape[0], W.shape[1], p, v.shape[0], normalize_input=normalize_input, center=center,
                  bias=bias is not None).to(W.dtype)
        net.W.copy_(W.T)
        net.v.copy_(v)
        if bias is not None:
            net.b.copy_(bias)
        return net

    # -- neuron subsets (pruning) ---------------------------------------------
    @torch.no_grad()
    def subnet(self, neurons: Tensor) -> "PReLUNet":
        """A copy holding only the hidden units ``neurons`` (indices)."""
        sub = PReLUNet(self.W.shape[1], len(neurons), self.p, self.out_dim, normalize_input=self.normalize_input,
                       center=self.center, bias=self.b is not None).to(self.W.device, self.W.dtype)
        sub.W.copy_(self.W[neurons])
        sub.v.copy_(self.v[:, neurons])
        if self.b is not None:
            sub.b.copy_(self.b)
        return sub

    @torch.no_grad()
    def write_back(self, neurons: Tensor, sub: "PReLUNet") -> None:
        """Copy the units of ``sub`` (made by :meth:`subnet`) back into place."""
        self.W[neurons] = sub.W
        self.v[:, neurons] = sub.v
        if self.b is not None:
            self.b.copy_(sub.b)

    # -- evaluation -------------------------------------------------------
    def features(self, x: Tensor) -> Tensor:
        """Hidden units ``relu(<x,w_j>)^p / ||w_j||^(p-1)`` (also divided by
        ``||x||^(p-1)`` with ``normalize_input``; ``x`` centred first when the net has a
        centre), shape (n, width)."""
        w_product, w_sq = self._weight_terms(self.product_dtype)
        return _HiddenUnits.apply(x, self.W, w_product, w_sq, self.center, self.p, self.normalize_input,
                                  self.product_dtype)

    def _weight_key(self, dtype: torch.dtype | None) -> tuple:
        W = self.W.detach()
        # a cache holds a view of W, which pins its storage: an equal address means the same
        # storage; its version counter (shared with the parameter) moves with every in-place change
        return (W.data_ptr(), W.dtype, W.device, W._version, dtype)

    @torch.no_grad()
    def _weight_terms(self, dtype: torch.dtype | None) -> tuple[Tensor, Tensor]:
        """``W`` in ``dtype`` (None: its own) (width, in_dim) and its squared row norms
        (width,), reused while valid (see the class docstring): an APGD-CE iteration
        then does not convert and reduce the (500, 784) weights forward and backward."""
        key, cached = self._weight_key(dtype), self._weight_cache
        if cached is not None and cached[0] == key:
            return cached[2]
        W = self.W.detach()
        terms = (W if dtype is None else W.to(dtype), W.square().sum(1))
        self._weight_cache = None if self.W.requires_grad else (key, W, terms)
        return terms

    def forward(self, x: Tensor) -> Tensor:
        out = self.features(x) @ self.v.T
        if self.b is not None:
            out = out + self.b
        return out.squeeze(1) if self.out_dim == 1 else out

    # -- closed-form gradients (plain net: no centring, no input normalisation) --
    def check_plain(self) -> None:
        """Raise unless this is the plain scalar net that the closed forms cover."""
        if self.normalize_input or self.center is not None or self.out_dim != 1:
            raise NotImplementedError("closed-form gradients cover the plain scalar net only; use autograd")

    @torch.no_grad()
    def score_and_input_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``f(x)`` (n,) and ``grad_x f(x)`` (n, D) without autograd.

        ``grad_x f = sum_j v_j p relu(z_j)^(p-1) / ||w_j||^(p-1) w_j`` lies in the
        span of the neurons, which the fast attacks exploit.
        """
        self.check_plain()
        z = x @ self.W.T
        a = z.clamp_min(0)
        a_pm1 = (z > 0).to(x.dtype) if self.p == 1.0 else a.pow(self.p - 1.0)
        coef = self.v[0] * self.W.norm(dim=1).pow(1.0 - self.p)  # (h,)
        f = (a_pm1 * a) @ coef
        if self.b is not None:
            f = f + self.b
        grad = (a_pm1 * (self.p * coef)) @ self.W
        return f, grad

    def _fused(self, dtype: torch.dtype) -> bool:
        """Whether a training step with products in ``dtype`` runs the fused CPU loops
        of :mod:`prelu_robust.kernels` (float32 weights, bf16 products, numba present)."""
        W = self.W
        return (dtype == torch.bfloat16 and W.dtype == torch.float32 and W.device.type == "cpu"
                and W.is_contiguous() and kernels.available())

    @torch.no_grad()
    def param_grad(self, x: Tensor, dloss_dscore) -> ParamGrad:
        """Forward pass and the gradients of ``sum_i L_i(f(x_i))`` for ``W`` and ``v``,
        with ``grad_W`` left factored (see :class:`ParamGrad`).

        ``dloss_dscore`` maps the scores (n,) to ``dL_i/df_i`` (n,). One matrix
        product forward and one backward, where autograd needs more.

        When ``x`` has a lower precision than the parameters (``bfloat16``), the two
        products run in it (fast on CPUs with bf16 dot products), at the price of
        rounding the pre-activations and ``ParamGrad.product`` to 8 significant bits.
        Everything else stays in the parameters' precision. On the CPU the elementwise
        work around them runs in :mod:`prelu_robust.kernels`' fused loops.
        """
        self.check_plain()
        v, p = self.v[0], self.p
        dtype = None if x.dtype == self.W.dtype else x.dtype
        w_product, w_sq = self._weight_terms(dtype)
        scale = w_sq.pow((1.0 - p) / 2)  # ||w_j||^(1-p)
        z = bf16_product(nn.functional.linear, x, w_product)  # (n, h): x @ W^T, the same values as the matmul
        if dtype is not None and self._fused(dtype) and x.device.type == "cpu":
            f = kernels.forward_scores(z, v * scale, p)
            if self.b is not None:
                f = f + self.b
            g = dloss_dscore(f)
            raw_grad_v, slope = kernels.backward_terms(z, g.to(torch.float32), p)
            grad_v = raw_grad_v * scale
        else:
            z = z.to(self.W.dtype)
            a = z.clamp_min(0)
            a_pm1 = (z > 0).to(z.dtype) if p == 1.0 else a.pow(p - 1.0)
            units = a_pm1 * a * scale  # (n, h)
            f = units @ v
            if self.b is not None:
                f = f + self.b
            g = dloss_dscore(f)
            grad_v = g @ units  # (h,)
            slope = (g[:, None] * a_pm1).to(x.dtype)
        product = bf16_product(torch.matmul, slope.T, x)
        decay = None if p == 1.0 else (p - 1.0) * v * grad_v / w_sq
        return ParamGrad(f, product, p * v * scale, decay, grad_v, w_sq)

    @torch.no_grad()
    def sgd_step(self, grad: ParamGrad, step: float) -> None:
        """``W -= step * grad_W``, ``v -= step * grad_v``: in torch, two in-place passes
        over ``W``; on the CPU with bf16 products, one fused pass that also leaves the
        new ``W`` in bf16 and its squared row norms for the next :meth:`param_grad`."""
        W = self.W.detach()
        factor = None if grad.decay is None else 1.0 + step * grad.decay
        if self._fused(grad.product.dtype):
            ones = torch.ones_like(grad.row_scale)
            terms = kernels.update_rows(W, grad.product, ones if factor is None else factor, -step * grad.row_scale)
            self._weight_cache = (self._weight_key(torch.bfloat16), W, terms)
        else:
            if factor is not None:
                W.mul_(factor[:, None])
            W.addcmul_(grad.product, grad.row_scale[:, None], value=-step)
        self.v[0].sub_(grad.grad_v, alpha=step)


class ParamGrad(NamedTuple):
    """The gradient of a plain pReLU net, factored:
    ``grad_W = row_scale[:, None] * product - decay[:, None] * W``.

    ``scores`` (n,); ``product`` (width, D), in the inputs' dtype; ``row_scale``,
    ``decay`` (None when p = 1), ``grad_v`` and the neurons' squared norms ``w_sq``: (width,).
    """

    scores: Tensor
    product: Tensor
    row_scale: Tensor
    decay: Tensor | None
    grad_v: Tensor
    w_sq: Tensor

    def grad_W(self, W: Tensor) -> Tensor:
        """The assembled gradient (width, D), for parameters ``W``."""
        grad = self.product.to(W.dtype) * self.row_scale[:, None]
        return grad if self.decay is None else grad - self.decay[:, None] * W


@contextlib.contextmanager
def products_in(net: PReLUNet, dtype: torch.dtype | None) -> Iterator[PReLUNet]:
    """Within the block, ``net``'s :meth:`~PReLUNet.features` products run in ``dtype``."""
    previous, net.product_dtype = net.product_dtype, dtype
    try:
        yield net
    finally:
        net.product_dtype = previous


def relu_power(z: Tensor, p: float) -> Tensor:
    """``relu(z)^p`` elementwise; small integer powers by multiplication (cheaper than
    ``pow`` forward and backward, the same values)."""
    r = z.clamp_min(0)
    if p == 1.0:
        return r
    if p in (2.0, 3.0, 4.0):
        out = r * r
        return out if p == 2.0 else out * r if p == 3.0 else out * out
    return r.pow(p)


def matmul_in(a: Tensor, b: Tensor, dtype: torch.dtype | None) -> Tensor:
    """``a @ b`` computed in ``dtype`` (None: as given), returned in ``a``'s dtype."""
    if dtype is None or dtype == a.dtype:
        return a @ b
    return bf16_product(torch.matmul, a.to(dtype), b.to(dtype)).to(a.dtype)


def _fusable(t: Tensor, p: float) -> bool:
    """Whether the elementwise work on the units ``t`` (n, width) of exponent ``p`` runs in
    :mod:`prelu_robust.kernels`' float32 loops (bit-identical to the torch ops)."""
    return ((p == 1.0 or p in kernels.HIDDEN_POWERS) and t.dtype == torch.float32 and t.device.type == "cpu"
            and t.is_contiguous() and kernels.available())


class _HiddenUnits(torch.autograd.Function):
    """:meth:`PReLUNet.features` with a hand-written backward: the elementwise work
    of autograd's chain (power, two scalings, their backwards) fused into a few
    passes over the (n, width) units, one each way in float32 on the CPU
    (:mod:`prelu_robust.kernels`, bit-identical). The tests compare it with autograd
    on the plain composition.

    With ``s_ij = ||w_j||^(1-p) ||x_i||^(1-p)`` and ``u = relu(z)^p s``, ``z = x W^T``:
    ``du/dz = p relu(z)^(p-1) s``; the norms add ``(1-p) (sum_i G_ij u_ij) / ||w_j||^2 w_j``
    to ``grad_W`` and ``(1-p) (sum_j G_ij u_ij) / ||x_i||^2 x_i`` to ``grad_x``.
    """

    @staticmethod
    def forward(ctx, x: Tensor, W: Tensor, w_product: Tensor, w_sq: Tensor | None, center: Tensor | None,
                p: float, normalize: bool, dtype: torch.dtype | None) -> Tensor:
        """``w_product``: ``W`` in ``dtype``; ``w_sq``: its squared row norms (h,), None when p = 1."""
        xc = x if center is None else x - center
        r = matmul_in(xc, w_product.T, dtype).clamp_min_(0)  # (n, h)
        ctx.p, ctx.normalize, ctx.dtype = p, normalize, dtype
        if p == 1.0:  # the norms' exponent 1 - p is 0
            ctx.save_for_backward(xc, w_product, r)
            return r
        w_scale = w_sq.pow((1.0 - p) / 2)  # (h,)
        x_sq = xc.square().sum(1, keepdim=True) if normalize else None  # (n, 1)
        x_scale = x_sq.clamp_min(1e-24).pow((1.0 - p) / 2) if normalize else None  # as ||x|| clamped at 1e-12
        if _fusable(r, p):
            slope, units = kernels.hidden_units(r, w_scale, x_scale, p)
        else:
            scale = w_scale[None, :] if x_scale is None else w_scale[None, :] * x_scale
            slope = relu_power(r, p - 1.0).mul_(scale)  # du/dz / p
            units = slope * r
        ctx.save_for_backward(xc, W, w_product, slope, units, w_sq, x_sq)
        return units

    @staticmethod
    def backward(ctx, grad: Tensor):
        p, dtype = ctx.p, ctx.dtype
        if p == 1.0:
            xc, w_product, r = ctx.saved_tensors
            grad_z = kernels.relu_backward(grad, r) if _fusable(grad, p) else grad * (r > 0)
        else:
            xc, W, w_product, slope, units, w_sq, x_sq = ctx.saved_tensors
            if _fusable(grad, p):
                grad_z, grad_units = kernels.hidden_units_backward(grad, slope, units, p)
            else:
                grad_z, grad_units = (grad * slope).mul_(p), grad * units
        grad_x = matmul_in(grad_z, w_product, dtype) if ctx.needs_input_grad[0] else None
        grad_W = matmul_in(grad_z.T, xc, dtype) if ctx.needs_input_grad[1] else None
        if p != 1.0:
            if grad_W is not None:
                grad_W.add_(W * ((1.0 - p) * grad_units.sum(0) / w_sq)[:, None])
            if grad_x is not None and ctx.normalize:  # zero below the clamp, as autograd's
                grad_x.add_(xc * ((1.0 - p) * grad_units.sum(1, keepdim=True) / x_sq).where(x_sq > 1e-24, 0.0))
        return grad_x, grad_W, None, None, None, None, None, None


# -- ideal classifiers -------------------------------------------------------
def class_average_classifier(x: Tensor, spec: MixtureSpec) -> Tensor:
    """``F(x) = relu(<x, mu_+>) - relu(<x, mu_->)``, shape (n,) for x of shape (n, D)."""
    proj = x[:, : spec.n_clusters]  # <x, e_k>
    return (proj[:, : spec.n_positive].sum(1).clamp_min(0)
            - proj[:, spec.n_positive:].sum(1).clamp_min(0))


def subclass_classifier(x: Tensor, spec: MixtureSpec, p: float) -> Tensor:
    """``F^(p)(x) = sum_{k<=K1} relu(<x,mu_k>)^p - sum_{k>K1} relu(<x,mu_k>)^p``, shape (n,)."""
    units = relu_power(x[:, : spec.n_clusters], p)
    return units[:, : spec.n_positive].sum(1) - units[:, spec.n_positive:].sum(1)


def aligns_with_class_averages(p: float) -> bool:
    """Whether the theory says ``f_p`` approaches ``F`` (neurons at the class averages
    mu_+-: p=1 and the conjecture's p <= 2) rather than ``F^(p)`` (the subclass centres)."""
    return p <= 2


def ideal_classifier(x: Tensor, spec: MixtureSpec, p: float) -> Tensor:
    """The classifier the theory says ``f_p`` approaches (see
    :func:`aligns_with_class_averages`): ``F`` or ``F^(p)``. Shape (n,)."""
    return class_average_classifier(x, spec) if aligns_with_class_averages(p) else subclass_classifier(x, spec, p)


def ideal_net(spec: MixtureSpec, p: float, dtype: torch.dtype = torch.float32) -> PReLUNet:
    """:func:`ideal_classifier` written as a pReLU net, so that it has the closed-form
    input gradient and the span engine of a trained net.

    ``F``: width 2, p = 1, rows of ``W`` mu_+ and mu_-, ``v = (1, -1)``.
    ``F^(p)``: width K, rows of ``W`` the centres mu_k (unit norm), ``v`` their labels.
    """
    if aligns_with_class_averages(p):
        net = PReLUNet(spec.dim, 2, p=1.0)
        W, v = spec.class_means(dtype), torch.tensor([1.0, -1.0], dtype=dtype)
    else:
        net = PReLUNet(spec.dim, spec.n_clusters, p=p)
        W, v = spec.centers(dtype), spec.cluster_labels().to(dtype)
    net = net.to(dtype)
    with torch.no_grad():
        net.W.copy_(W)
        net.v.copy_(v[None, :])
    return net.requires_grad_(False)


def bayes_log_odds(x: Tensor, spec: MixtureSpec) -> Tensor:
    """Sign-equivalent form of the Bayes classifier of MV25 (Prop. 2), shape (n,).

    ``sum_{k<=K1} exp(D<x,mu_k>/alpha^2) - sum_{k>K1} exp(...)`` overflows for
    small alpha; its sign equals that of the difference of the two log-sum-exps,
    which is what this returns.
    """
    require(spec.alpha > 0, "alpha", spec.alpha, "a number > 0 for the Bayes classifier")
    logits = x[:, : spec.n_clusters] * (spec.dim / spec.alpha**2)
    return (torch.logsumexp(logits[:, : spec.n_positive], 1)
            - torch.logsumexp(logits[:, spec.n_positive:], 1))
