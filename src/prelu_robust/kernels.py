"""Fused CPU loops, compiled by numba: the bf16 training step, and the elementwise work of
:meth:`~prelu_robust.models.PReLUNet.features` in float32.

Besides its two bf16 matrix products, a training step in plain torch makes five
passes over the (width, D) weights (scale, add the gradient, convert the product to
float32, convert ``W`` to bf16, take the row norms) and a dozen over the (batch, width)
pre-activations. The loops below do each group in one pass, a row at a time while it
sits in L1 (measured in ``benchmarks/reports/RESULTS.md``).

bf16 numbers are handled as their bit patterns (uint16, the upper half of a
float32): widening is a shift, narrowing rounds to nearest even as ``Tensor.to``
does. Sums are reassociated (vectorised), so they differ from torch's in the last
bits; ``tests/test_kernels.py`` compares every kernel with the torch formulas.

The float32 loops of the hidden units (:func:`hidden_units`, :func:`hidden_units_backward`)
make one pass where torch makes six forward and three backward (:func:`relu_backward`:
p = 1's backward, one pass for two). They sum nothing and multiply in torch's order
without fused multiply-adds, so every value is bit-identical to torch's (tested); the
stored results do not move.
"""

from __future__ import annotations

import numpy as np
import torch

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; the torch path still works
    numba = None

__all__ = ["available", "update_rows", "forward_scores", "backward_terms", "HIDDEN_POWERS", "hidden_units",
           "hidden_units_backward", "relu_backward"]

Tensor = torch.Tensor
_FASTMATH = {"reassoc", "nsz", "contract"}  # vectorised sums and fused multiply-adds; no finite-math
#: The exponents p of :func:`hidden_units`: relu(z)^(p-1) by multiplication, as
#: :func:`~prelu_robust.models.relu_power` takes it.
HIDDEN_POWERS = (2.0, 3.0, 4.0)


def available() -> bool:
    """Whether the fused loops can run (numba importable)."""
    return numba is not None


def _bits(t: Tensor) -> np.ndarray:
    """A bf16 tensor's storage as uint16 (shared, not copied)."""
    return t.view(torch.int16).numpy().view(np.uint16)


if numba is not None:
    _jit = numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False, nogil=True)

    @_jit
    def _round_to_bf16(bits):  # pragma: no cover
        """float32 bits (uint32) to bf16 bits (uint16), to nearest even (finite inputs)."""
        return np.uint16((bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16))

    @_jit
    def _update_rows(W, W_bits, product, factor, coef, out_bits, out_sq, buf_bits, buf):  # pragma: no cover
        h, d = W.shape
        for j in range(h):
            row, row_bits, prod, out = W[j], W_bits[j], product[j], out_bits[j]
            for k in range(d):
                buf_bits[k] = np.uint32(prod[k]) << np.uint32(16)
            f, c, acc = factor[j], coef[j], np.float32(0.0)
            for k in range(d):
                w = row[k] * f + c * buf[k]
                row[k] = w
                acc += w * w
            out_sq[j] = acc
            for k in range(d):
                out[k] = _round_to_bf16(row_bits[k])

    @_jit
    def _forward_rows(z_bits, coef, p, scores, buf_bits, buf):  # pragma: no cover
        n, h = z_bits.shape
        for i in range(n):
            zi = z_bits[i]
            for j in range(h):
                buf_bits[j] = np.uint32(zi[j]) << np.uint32(16)
            acc = np.float32(0.0)
            if p == 1.0:
                for j in range(h):
                    acc += coef[j] * max(buf[j], np.float32(0.0))
            elif p == 3.0:
                for j in range(h):
                    a = max(buf[j], np.float32(0.0))
                    acc += coef[j] * (a * a * a)
            else:
                for j in range(h):
                    a = max(buf[j], np.float32(0.0))
                    acc += coef[j] * (a ** p if a > 0 else np.float32(0.0))
            scores[i] = acc

    @_jit
    def _backward_rows(z_bits, g, p, raw_grad_v, slope_bits, buf_bits, buf, row_bits, row):  # pragma: no cover
        n, h = z_bits.shape
        for j in range(h):
            raw_grad_v[j] = 0.0
        for i in range(n):
            zi, out, gi = z_bits[i], slope_bits[i], g[i]
            for j in range(h):
                buf_bits[j] = np.uint32(zi[j]) << np.uint32(16)
            # one loop per case, so that each vectorises (a branch on p inside would not)
            if p == 1.0:
                for j in range(h):
                    a = max(buf[j], np.float32(0.0))
                    raw_grad_v[j] += gi * a
                    row[j] = gi if a > 0 else np.float32(0.0)
            elif p == 3.0:
                for j in range(h):
                    a = max(buf[j], np.float32(0.0))
                    s = a * a
                    raw_grad_v[j] += gi * (s * a)
                    row[j] = gi * s
            else:
                for j in range(h):
                    a = max(buf[j], np.float32(0.0))
                    s = a ** (p - 1.0) if a > 0 else np.float32(0.0)
                    raw_grad_v[j] += gi * (s * a)
                    row[j] = gi * s
            for j in range(h):
                out[j] = _round_to_bf16(row_bits[j])


    # IEEE arithmetic in program order (no fastmath): the same roundings as torch's elementwise ops
    _exact = numba.njit(cache=True, boundscheck=False, nogil=True)

    @_exact
    def _relu(z):  # pragma: no cover
        """torch's clamp_min(z, 0): NaN stays NaN, -0 becomes +0."""
        return z if z > 0 or z != z else np.float32(0.0)

    @_exact
    def _hidden_rows(z, w_scale, x_scale, q, slope, units):  # pragma: no cover
        n, h = z.shape
        for i in range(n):
            zi, si, ui, xs = z[i], slope[i], units[i], x_scale[i]
            # one loop per power, so that each vectorises
            if q == 1:
                for j in range(h):
                    r = _relu(zi[j])
                    s = r * (w_scale[j] * xs)
                    si[j], ui[j] = s, s * r
            elif q == 2:
                for j in range(h):
                    r = _relu(zi[j])
                    s = (r * r) * (w_scale[j] * xs)
                    si[j], ui[j] = s, s * r
            else:
                for j in range(h):
                    r = _relu(zi[j])
                    s = ((r * r) * r) * (w_scale[j] * xs)
                    si[j], ui[j] = s, s * r

    @_exact
    def _relu_backward_rows(grad, r, grad_z):  # pragma: no cover
        n, h = grad.shape
        for i in range(n):
            gi, ri, gzi = grad[i], r[i], grad_z[i]
            for j in range(h):
                gzi[j] = gi[j] * (np.float32(1.0) if ri[j] > 0 else np.float32(0.0))

    @_exact
    def _hidden_backward_rows(grad, slope, units, p, grad_z, grad_units):  # pragma: no cover
        n, h = grad.shape
        for i in range(n):
            gi, si, ui, gzi, gui = grad[i], slope[i], units[i], grad_z[i], grad_units[i]
            for j in range(h):
                g = gi[j]
                gzi[j] = (g * si[j]) * p
                gui[j] = g * ui[j]


def hidden_units(z: Tensor, w_scale: Tensor, x_scale: Tensor | None, p: float) -> tuple[Tensor, Tensor]:
    """For pre-activations z (n, h) and the units' scales ``s_ij = w_scale_j x_scale_i``
    (w_scale (h,); x_scale (n, 1) or None for ones), p in :data:`HIDDEN_POWERS`:
    ``slope = relu(z)^(p-1) s`` and ``units = slope relu(z)``, each (n, h), all float32
    and contiguous."""
    n, h = z.shape
    slope, units = torch.empty(n, h), torch.empty(n, h)
    xs = torch.ones(n) if x_scale is None else x_scale.reshape(n)
    _hidden_rows(z.detach().numpy(), w_scale.numpy(), xs.numpy(), int(p) - 1, slope.numpy(), units.numpy())
    return slope, units


def relu_backward(grad: Tensor, r: Tensor) -> Tensor:
    """p = 1's ``grad_z = grad * (r > 0)`` (n, h) float32, for the units ``r = relu(z)``."""
    grad_z = torch.empty_like(grad)
    _relu_backward_rows(grad.numpy(), r.numpy(), grad_z.numpy())
    return grad_z


def hidden_units_backward(grad: Tensor, slope: Tensor, units: Tensor, p: float) -> tuple[Tensor, Tensor]:
    """``grad_z = grad slope p`` and ``grad_units = grad units`` (n, h) float32, from
    :func:`hidden_units`' outputs and the gradient of the units ``grad`` (n, h)."""
    grad_z, grad_units = torch.empty_like(grad), torch.empty_like(grad)
    _hidden_backward_rows(grad.numpy(), slope.numpy(), units.numpy(), np.float32(p), grad_z.numpy(),
                          grad_units.numpy())
    return grad_z, grad_units


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    bits = np.empty(n, np.uint32)
    return bits, bits.view(np.float32)


def update_rows(W: Tensor, product: Tensor, factor: Tensor, coef: Tensor) -> tuple[Tensor, Tensor]:
    """In place, ``W[j] = factor[j] * W[j] + coef[j] * product[j]`` for W (h, D) float32
    and product (h, D) bf16; returns the new ``W`` rounded to bf16 (h, D) and its
    squared row norms (h,) float32, computed in the same pass."""
    h, d = W.shape
    W_bf16 = torch.empty(h, d, dtype=torch.bfloat16)
    w_sq = torch.empty(h, dtype=torch.float32)
    W_np = W.detach().numpy()
    _update_rows(W_np, W_np.view(np.uint32), _bits(product), factor.numpy(), coef.numpy(), _bits(W_bf16),
                 w_sq.numpy(), *_scratch(d))
    torch.autograd.graph.increment_version(W)  # written through numpy: tell torch (and caches keyed on it)
    return W_bf16, w_sq


def forward_scores(z: Tensor, coef: Tensor, p: float) -> Tensor:
    """``f_i = sum_j coef_j relu(z_ij)^p`` (n,) float32 for pre-activations z (n, h) bf16."""
    scores = torch.empty(z.shape[0], dtype=torch.float32)
    _forward_rows(_bits(z), coef.numpy(), float(p), scores.numpy(), *_scratch(z.shape[1]))
    return scores


def backward_terms(z: Tensor, g: Tensor, p: float) -> tuple[Tensor, Tensor]:
    """For pre-activations z (n, h) bf16 and per-point weights g (n,) float32:
    ``sum_i g_i relu(z_ij)^p`` (h,) float32, and ``g_i relu(z_ij)^(p-1)`` (n, h)
    rounded to bf16 (the left factor of the weight-gradient product)."""
    n, h = z.shape
    raw_grad_v = torch.empty(h, dtype=torch.float32)
    slope = torch.empty(n, h, dtype=torch.bfloat16)
    _backward_rows(_bits(z), g.numpy(), float(p), raw_grad_v.numpy(), _bits(slope), *_scratch(h), *_scratch(h))
    return raw_grad_v, slope
