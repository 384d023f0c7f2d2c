"""Perturbations restricted to a subspace, evaluated exactly: the spaces the
attacks and Algorithm 1 step in.

A gradient step on a plain pReLU net moves x along ``grad_x f``, which lies in
the span of the neurons. Writing a perturbed point as ``x0 + S a + s u`` (S an
orthonormal basis (D, r), ``u`` a unit vector orthogonal to S fixed per point)
the pre-activations are ``x0 W^T + a (W S)^T + s u W^T``: an (n, h, r) product
instead of (n, h, D). Scores are exact for every such point; only the *steps*
are restricted to span(S), which is exact for steps started in span(S) when S
contains the neurons' span. A truncated S (a few singular directions of a
low-rank W) gives steps that ignore the discarded directions: the points found
are still evaluated exactly, so an attack stays a valid attack.

The full space is the special case S = I, used for any classifier through
autograd (:class:`FullSpace`).

Every space splits the work in two: ``anchor(x0)`` computes what does not move
with the perturbation (for a net, ``x0 W^T``: the one (n, h, D) product), and
``bind(anchor, u)`` returns the cheap model of ``(a, s)``. An attack over many
radii anchors its points once and indexes the rows it still needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import neurons
from .models import PReLUNet, relu_power
from .validation import require

__all__ = ["ScoreGrad", "BoundModel", "score_and_grad", "row_blocks", "STEP_BLOCK", "FullSpace", "NeuronSpan", "GroupedSpan",
           "SignExactSpan", "scaled_difference", "Basis", "neuron_basis"]

Tensor = torch.Tensor
ScoreGrad = Callable[[Tensor], tuple[Tensor, Tensor]]
"""Maps x (n, D) to the scores f(x) (n,) and their input gradients (n, D)."""
BoundModel = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
"""(a (n, r), s (n,)) -> scores f (n,) and their gradients with respect to a (n, r)."""


def score_and_grad(classifier: Callable[[Tensor], Tensor]) -> ScoreGrad:
    """The closed-form oracle of a plain :class:`PReLUNet`, else autograd."""
    if isinstance(classifier, PReLUNet) and not classifier.normalize_input \
            and classifier.center is None and classifier.out_dim == 1:
        return classifier.score_and_input_grad

    def oracle(x: Tensor) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            f = classifier(x)
            (grad,) = torch.autograd.grad(f.sum(), x)
        return f.detach(), grad

    return oracle


#: Numbers per (rows, r) array of a block of points stepped together: 2^18 float32 is
#: 1 MiB, about a core's L2 cache, so a block's arrays stay in cache (the gain is
#: measured in the message of commit b10a568).
STEP_BLOCK = 2**18


def row_blocks(n: int, width: int) -> list[slice]:
    """Near-equal slices covering range(n), each of at most ``STEP_BLOCK // width`` rows.
    Every point steps on its own; with blocks of equal size (never a tiny remainder,
    which BLAS handles with other kernels that round differently) the results are
    bit-identical to stepping all rows at once (tests/test_spaces.py)."""
    count = max(1, -(-n * width // STEP_BLOCK))
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


class FullSpace:
    """Perturbations anywhere in R^D, for any classifier (autograd or closed form).
    The anchor of a point is the point itself."""

    def __init__(self, oracle: Callable[[Tensor], tuple[Tensor, Tensor]], dim: int) -> None:
        self.oracle, self.dim = oracle, dim

    def split(self, delta: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        return delta, torch.zeros(delta.shape[0], dtype=delta.dtype, device=delta.device), None

    def anchor(self, x0: Tensor) -> Tensor:
        return x0

    def bind(self, x0: Tensor, u: Tensor | None = None) -> BoundModel:
        return lambda a, s: self.oracle(x0 + a)

    def scores(self, x: Tensor) -> Tensor:
        """The scores (n,) at the points x (n, D) themselves."""
        return self.oracle(x)[0]


class _Span:
    """Points ``x0 + S a + s u`` for an orthonormal basis ``self.basis`` (D, r)."""

    basis: Tensor

    def split(self, delta: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Coordinates ``a`` (n, r), orthogonal norm ``s`` (n,) and direction ``u`` (n, D) of delta."""
        a = delta @ self.basis
        orth = delta - a @ self.basis.T
        s = orth.norm(dim=1)
        return a, s, orth / s.clamp_min(1e-30)[:, None]


class NeuronSpan(_Span):
    """A plain :class:`PReLUNet` on points ``x0 + S a + s u`` (see module docstring)."""

    def __init__(self, net: PReLUNet, basis: Tensor) -> None:
        net.check_plain()
        self.W = net.W.detach()
        self.basis = basis
        self.dim = basis.shape[1]
        self.WS = self.W @ basis  # (h, r)
        self.coef = net.v.detach()[0] * self.W.norm(dim=1).pow(1.0 - net.p)
        self.slope_to_grad = net.p * self.coef
        self.bias = 0.0 if net.b is None else net.b.detach()
        self.p = net.p

    @classmethod
    def stacked(cls, parts: list[tuple["NeuronSpan", float]]) -> "NeuronSpan":
        """The span of ``sum_k weight_k f_k`` for spaces ``f_k`` of one exponent and one basis:
        one net with all their neurons, output weights scaled by the weights."""
        first = parts[0][0]
        stacked = cls.__new__(cls)
        stacked.basis, stacked.dim, stacked.p = first.basis, first.dim, first.p
        stacked.W = torch.cat([space.W for space, _ in parts])
        stacked.WS = torch.cat([space.WS for space, _ in parts])
        stacked.coef = torch.cat([weight * space.coef for space, weight in parts])
        stacked.slope_to_grad = first.p * stacked.coef
        stacked.bias = sum(weight * space.bias for space, weight in parts)
        return stacked

    def anchor(self, x0: Tensor) -> Tensor:
        """The pre-activations ``x0 W^T`` (n, h) of the unperturbed points."""
        return x0 @ self.W.T

    def scores(self, x: Tensor) -> Tensor:
        """The scores (n,) at the points x (n, D) themselves."""
        return relu_power(x @ self.W.T, self.p) @ self.coef + self.bias

    def margin_bound(self, z0: Tensor, y: Tensor, eps: float) -> tuple[Tensor, Tensor]:
        """A lower bound (n,) of ``y f(x0 + delta)`` over every ``||delta|| <= eps``, for anchors
        ``z0 = anchor(x0)`` (n, h) and labels y (n,) in {-1, +1}, and the size (n,) of the terms it
        sums (for rounding). Each pre-activation moves by at most ``eps ||w_j||``: the bound
        lowers the units that raise the margin and raises the others."""
        reach = eps * self.W.norm(dim=1)  # (h,)
        signed = y[:, None] * self.coef  # (n, h)
        units = relu_power(torch.where(signed > 0, z0 - reach, z0 + reach), self.p) * signed
        size = (relu_power(z0.abs() + reach, self.p) * signed.abs()).sum(1)
        return units.sum(1) + y * self.bias, size

    def certified(self, z0: Tensor, y: Tensor, eps: float, slack: Tensor | float = 0.0) -> Tensor:
        """Which points (n,) keep ``y f(x0 + delta) > 0`` for every ``||delta|| <= eps``, proven by
        :meth:`margin_bound` with room for float32 rounding. No attack can break them.
        ``slack`` (n,) is what terms outside this net can take off the margin."""
        lower, size = self.margin_bound(z0, y, eps)
        return lower - slack > 1e-4 * size

    def bind(self, z0: Tensor, u: Tensor | None = None) -> BoundModel:
        """The model at ``x0 + S a + s u`` for anchors ``z0 = anchor(x0)``."""
        zu = None if u is None else u @ self.W.T

        def model(a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
            return self.at(self.preactivations(z0, zu, a, s))

        return model

    def preactivations(self, z0: Tensor, zu: Tensor | None, a: Tensor, s: Tensor) -> Tensor:
        """``z0 + a (W S)^T + s zu`` (n, h): the pre-activations at ``x0 + S a + s u``."""
        # (h, r) @ (r, n) then transposed: a faster BLAS path than (n, r) @ (r, h) for these thin shapes
        z = (self.WS @ a.T).T + z0
        if zu is not None:
            z.addcmul_(s[:, None], zu)
        return z

    def at(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Scores (n,) and their gradients (n, r) in the basis, from pre-activations z (n, h),
        which are overwritten."""
        act = z.clamp_min_(0)
        if self.p == 1.0:
            slope, units = (act > 0).to(act.dtype), act
        else:
            slope = relu_power(act, self.p - 1.0)
            units = slope * act
        f = units @ self.coef + self.bias
        return f, (slope.mul_(self.slope_to_grad) @ self.WS)


_U32 = torch.finfo(torch.float32).eps


class GroupedSpan(_Span):
    """A plain p = 1 :class:`PReLUNet` on points ``x0 + S a + s u``, every neuron counted
    (the scores and gradients of :class:`NeuronSpan`, up to the order of the sums) at the
    cost of a handful of units wherever that is provably the same.

    A p = 1 unit ``v_j relu(<x, w_j>)`` is linear where its sign is fixed, so a group of
    neurons that are all active at x adds up to one linear unit (the sum of their ``v_j w_j``)
    and a group that is all inactive adds nothing. The neurons are grouped by direction
    (:func:`~prelu_robust.neurons.direction_groups`, cosine above ``1 - cos_tol``); the unit
    directions of group g lie within ``rho_g`` of its mean direction ``m_g``, so
    ``|<x, m_g>| > rho_g ||x||`` proves that every neuron of the group has the sign of
    ``<x, m_g>``, with room for float32 rounding (so that :class:`NeuronSpan` computes the
    same signs). Where a group is not proven, its neurons are computed one by one, for those
    points only; groups of fewer than ``min_size`` neurons always are. After small-init
    training a p = 1 net's neurons lie close to two directions: a point then costs two units
    and the few loose neurons, unless it sits where a group changes sign.

    The anchor of x0 (n, D) packs ``x0 W^T`` (n, h; neurons in :attr:`order`), ``<x0, m_g>``
    and each group's score were it all active (n, G), ``S^T x0`` (n, r) and ``||x0||^2``
    (n, 1), so that callers can take rows of it.
    """

    def __init__(self, net: PReLUNet, basis: Tensor, cos_tol: float = 1e-3, min_size: int = 16) -> None:
        require(net.p == 1.0, "p", net.p, "1: only p = 1 units are linear where their sign is fixed")
        net.check_plain()
        W = net.W.detach()
        group = neurons.direction_groups(W, net.v.detach()[0], cos_tol, same_sign=False)
        sizes = torch.bincount(group)
        big = torch.nonzero(sizes >= min_size).squeeze(1).tolist()
        loose = torch.nonzero(sizes[group] < min_size).squeeze(1)
        members = [torch.nonzero(group == g).squeeze(1) for g in big]
        #: the neurons in the anchor's order: the loose ones, then group by group
        self.order = torch.cat([loose, *members]).to(W.device)
        self.basis, self.dim, self.p = basis, basis.shape[1], 1.0
        self.neurons = NeuronSpan(net.subnet(self.order), basis)
        self.bias = self.neurons.bias
        self.loose = self._part(net, loose, basis, self.bias) if len(loose) else None
        self.groups = [self._part(net, m, basis, 0.0) for m in members]
        bounds = torch.tensor([0, *sizes[big].tolist()]).cumsum(0) + len(loose)
        self.slices = [slice(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
        units = (W / W.norm(dim=1, keepdim=True).clamp_min(1e-30)).double()
        means, reach = [], []
        for m in members:
            mean = units[m].sum(0)
            mean = mean / mean.norm()
            means.append(mean)
            reach.append(float((units[m] - mean).norm(dim=1).max()))
        # float32 rounding of <x, m_g> and of each <x, w_j> (sums of D + r + 1 terms), twice over
        rounding = 2 * (W.shape[1] + self.dim + 16) * _U32
        dtype = W.dtype
        self.reach = torch.tensor(reach, dtype=torch.float64).add(rounding).to(dtype).to(W.device)  # (G,)
        self.mean = (torch.stack(means) if means else torch.zeros(0, W.shape[1], dtype=torch.float64)).to(
            W.device, dtype)  # (G, D)
        self.mean_S = self.mean @ basis  # (G, r)
        #: sum_j coef_j (W S)_j per group (G, r), and coef_j in column g (h, G)
        self.group_WS = torch.stack([g.coef @ g.WS for g in self.groups]) if self.groups else \
            torch.zeros(0, self.dim, dtype=dtype, device=W.device)
        self.members = torch.zeros(len(self.order), len(self.groups), dtype=dtype, device=W.device)
        for g, (part, rows) in enumerate(zip(self.groups, self.slices)):
            self.members[rows, g] = part.coef

    @staticmethod
    def _part(net: PReLUNet, rows: Tensor, basis: Tensor, bias) -> NeuronSpan:
        part = NeuronSpan(net.subnet(rows), basis)
        part.bias = bias  # the bias is counted once, with the loose neurons
        return part

    @property
    def width(self) -> tuple[int, int]:
        """(groups, loose neurons): the units a proven point costs."""
        return len(self.groups), 0 if self.loose is None else self.loose.W.shape[0]

    def anchor(self, x0: Tensor) -> Tensor:
        z0 = self.neurons.anchor(x0)
        return torch.cat([z0, x0 @ self.mean.T, z0 @ self.members, x0 @ self.basis,
                          x0.square().sum(1, keepdim=True)], dim=1)

    def scores(self, x: Tensor) -> Tensor:
        """The scores (n,) at the points x (n, D) themselves."""
        return self.neurons.scores(x)

    def bind(self, packed: Tensor, u: Tensor | None = None) -> BoundModel:
        """The model at ``x0 + S a + s u`` for anchors ``packed = anchor(x0)``."""
        h, G, r = len(self.order), len(self.groups), self.dim
        z0, t0, F0 = packed[:, :h], packed[:, h:h + G], packed[:, h + G:h + 2 * G]
        x0_S, norm0_sq = packed[:, h + 2 * G:h + 2 * G + r], packed[:, -1]
        zu = tu = Fu = None
        if u is not None:
            zu = u @ self.neurons.W.T
            tu, Fu = u @ self.mean.T, zu @ self.members
            # |<x0, u>| <= the norm of x0's part outside the basis, as u is orthogonal to S
            x0_out = (norm0_sq - x0_S.square().sum(1)).clamp_min(0).sqrt()
        n_loose = self.width[1]

        def part(span: NeuronSpan, columns: slice, a: Tensor, s: Tensor, rows: Tensor | None = None):
            """The neurons ``columns`` of ``span`` one by one, at the points ``rows`` (all: None)."""
            z0_part = z0[:, columns] if rows is None else z0[rows, columns]
            zu_part = None if zu is None else zu[:, columns] if rows is None else zu[rows, columns]
            return span.at(span.preactivations(z0_part, zu_part, a, s))

        def model(a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
            t = torch.addmm(t0, a, self.mean_S.T)  # <x, m_g> (n, G)
            linear = torch.addmm(F0, a, self.group_WS.T)  # each group's score were it all active (n, G)
            a_sq = a.square().sum(1)
            norm_sq = norm0_sq + 2 * (x0_S * a).sum(1) + a_sq
            if u is not None:
                t.addcmul_(s[:, None], tu)
                linear.addcmul_(s[:, None], Fu)
                norm_sq = norm_sq + s * (2 * x0_out + s)
            # the sum's rounding is at most a few units of its terms' size, ||x0||^2 + |a|^2 + s^2 at most
            norm_sq = norm_sq + 16 * _U32 * (norm0_sq + a_sq + (0 if u is None else s * s))
            unsure = t.abs() <= norm_sq.clamp_min(0).sqrt()[:, None] * self.reach  # (n, G)
            on = (t > 0).to(a.dtype)
            scores = linear * on  # (n, G)
            grads = on[:, :, None] * self.group_WS  # (n, G, r)
            for g in torch.nonzero(unsure.any(0)).squeeze(1).tolist():
                rows = torch.nonzero(unsure[:, g]).squeeze(1)
                scores[rows, g], grads[rows, g] = part(self.groups[g], self.slices[g], a[rows], s[rows], rows)
            f, grad = scores.sum(1), grads.sum(1)
            if self.loose is not None:
                f_loose, grad_loose = part(self.loose, slice(0, n_loose), a, s)
                f, grad = f + f_loose, grad + grad_loose
            else:
                f = f + self.bias
            return f, grad

        return model


class _Difference:
    """``c f - F`` from the spaces of f and F (one set of coordinates), side by side.
    The anchor packs both spaces' anchors in one array, so that callers can take rows of it."""

    def __init__(self, first, second, c: float) -> None:
        self.first, self.second, self.c = first, second, c
        self.dim = first.dim
        self.split = first.split

    def anchor(self, x0: Tensor) -> Tensor:
        first = self.first.anchor(x0)
        self._first_width = first.shape[1]
        return torch.cat([first, self.second.anchor(x0)], dim=1)

    def bind(self, packed: Tensor, u: Tensor | None = None) -> BoundModel:
        first = self.first.bind(packed[:, : self._first_width], u)
        second = self.second.bind(packed[:, self._first_width:], u)

        def model(a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
            (f, grad_f), (F, grad_F) = first(a, s), second(a, s)
            return self.c * f - F, self.c * grad_f - grad_F

        return model


def scaled_difference(first, second, c: float):
    """The space (same coordinates) of ``c f - F`` for the spaces of f and F.

    Two :class:`NeuronSpan` of one exponent and one basis stack into one net, whose
    neurons are both nets' (output weights ``c v`` and ``-V``): one product per step
    instead of two, and the difference summed in one pass (Algorithm 1 at K = 20,
    p = 3: 40 neurons in one (h, r) product instead of 20 and 20). Anything else is
    evaluated side by side.
    """
    if isinstance(first, NeuronSpan) and isinstance(second, NeuronSpan) and first.p == second.p \
            and first.basis is second.basis:
        return NeuronSpan.stacked([(first, c), (second, -1.0)])
    return _Difference(first, second, c)


class SignExactSpan(_Span):
    """A plain :class:`PReLUNet` on points ``x0 + S a + s u`` whose scores have the
    exact *sign* at a fraction of :class:`NeuronSpan`'s cost: for verdicts.

    The neurons split into the dominant ones (contribution ``|v_j| ||w_j||`` at least
    ``tol`` times the largest) and the rest, whose share of the score is at most
    ``B ||x||^p`` with ``B`` the sum of their contributions (each unit is
    ``v_j ||w_j|| relu(<x, w_j/||w_j||>)^p``). Scores come from the dominant neurons,
    and a point whose score is within that bound of 0 is evaluated with every neuron.
    After small-init training a p=3 net has a few dozen dominant neurons of 2000: its
    verdicts then cost a few dozen columns instead of 2000.

    The anchor of x0 (n, D) packs ``x0 W_dom^T``, ``||x0||`` and x0 in one (n, h_dom + 1 + D)
    array, so that callers can take rows of it.
    """

    def __init__(self, net: PReLUNet, basis: Tensor, tol: float = 1e-6) -> None:
        net.check_plain()
        contribution = neurons.contributions(net.W.detach(), net.v.detach())
        dominant = neurons.dominant_mask(contribution, tol)
        self.dominant = NeuronSpan(net.subnet(torch.nonzero(dominant).squeeze(1)), basis)
        self.full = NeuronSpan(net, basis)
        self.rest_bound = float(contribution[~dominant].sum()) * (1 + 1e-4)  # margin for rounding
        self.basis, self.dim, self.p = basis, basis.shape[1], net.p

    def anchor(self, x0: Tensor) -> Tensor:
        return torch.cat([self.dominant.anchor(x0), x0.norm(dim=1, keepdim=True), x0], dim=1)

    def bind(self, packed: Tensor, u: Tensor | None = None) -> BoundModel:
        h = self.dominant.W.shape[0]
        z0, norm0, x0 = packed[:, :h], packed[:, h], packed[:, h + 1:]
        dominant = self.dominant.bind(z0, u)

        def model(a: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
            f, grad = dominant(a, s)
            if self.rest_bound > 0:
                radius = norm0 + (a.square().sum(1) + s.square()).sqrt()  # >= ||x0 + S a + s u||
                unsure = torch.nonzero(f.abs() <= self.rest_bound * radius.pow(self.p)).squeeze(1)
                if len(unsure):
                    x = x0[unsure] + a[unsure] @ self.basis.T
                    if u is not None:
                        x = x + s[unsure, None] * u[unsure]
                    f = f.index_copy(0, unsure, self.full.scores(x))
            return f, grad

        return model

    def certified(self, packed: Tensor, y: Tensor, eps: float) -> Tensor:
        """Which points (n,) keep ``y f(x0 + delta) > 0`` for every ``||delta|| <= eps``, proven
        by :meth:`NeuronSpan.margin_bound` for the dominant neurons minus the others' largest
        share ``B (||x0|| + eps)^p``, with room for float32 rounding. No attack can break them."""
        h = self.dominant.W.shape[0]
        return self.dominant.certified(packed[:, :h], y, eps, slack=self.rest_bound * (packed[:, h] + eps).pow(self.p))

    def scores(self, x: Tensor) -> Tensor:
        """Scores (n,) with the net's exact signs at the points x (n, D) themselves."""
        f = self.dominant.scores(x)
        if self.rest_bound > 0:
            unsure = torch.nonzero(f.abs() <= self.rest_bound * x.norm(dim=1).pow(self.p)).squeeze(1)
            if len(unsure):
                f = f.index_copy(0, unsure, self.full.scores(x[unsure]))
        return f


@dataclass(frozen=True)
class Basis:
    """An orthonormal basis (D, r) and the share of the weighted neuron matrix it
    leaves out (largest discarded singular value / largest one; 0 when exact)."""

    vectors: Tensor
    residual: float


def neuron_basis(net: PReLUNet, rank_tol: float = 0.0, extra: Tensor | None = None) -> Basis:
    """Orthonormal basis of the span of the neurons weighted by their contributions.

    Singular directions of ``diag(|v_j| ||w_j||) W/||w_j||`` below ``rank_tol``
    times the largest are dropped (``rank_tol=0`` keeps the whole numerical span: the
    directions above W's rounding, ``eps(W) max(W.shape)`` times the largest).
    ``extra`` (m, D) rows are always included (e.g. the cluster centres).
    """
    W = net.W.detach()
    contribution = neurons.contributions(W, net.v.detach())
    weighted = (W / W.norm(dim=1, keepdim=True).clamp_min(1e-30)) * contribution[:, None]
    _, sing, vh = torch.linalg.svd(weighted.double(), full_matrices=False)
    floor = (rank_tol if rank_tol > 0 else torch.finfo(W.dtype).eps * max(W.shape)) * sing[0]
    keep = sing > floor
    residual = float(sing[~keep].max() / sing[0]) if (~keep).any() else 0.0
    vectors = vh[keep]
    if extra is not None:
        vectors = torch.cat([vectors, extra.double()])
    q, r = torch.linalg.qr(vectors.T)
    q = q[:, r.diagonal().abs() > 1e-10]
    return Basis(q.to(W.dtype), residual)
