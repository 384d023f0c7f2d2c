"""A faithful re-implementation of the reference algorithm of Section 5.1, the
yardstick of the benchmarks (``benchmarks/bench``) and of the reference jobs
(``scripts/reference_runs.py``): plain autograd SGD over a DataLoader, full-space PGD on the
exp-loss, and Algorithm 1 as written (per-point normalisation of the gradient
of the batch-mean objective with a +1e-7 guard). Written from the paper and
SPEC.md; the library's engine is measured against it."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

__all__ = ["ReferenceNet", "train_reference", "pgd_reference", "pgd_as_written", "algorithm1_reference"]


class ReferenceNet(nn.Module):
    def __init__(self, dim: int, width: int, p: float, init_scale: float, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.p = p
        self.W = nn.Parameter(torch.randn(width, dim, generator=gen) * init_scale)
        self.v = nn.Parameter(torch.randn(width, generator=gen) * init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        units = torch.relu(x @ self.W.T) ** self.p / self.W.norm(dim=1) ** (self.p - 1)
        return units @ self.v


def train_reference(net: ReferenceNet, x: torch.Tensor, y: torch.Tensor, lr: float, batch_size: int,
                    epochs: int, seed: int, on_epoch=None) -> list[float]:
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in loader:
            loss = torch.exp(-yb * net(xb)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        losses.append(total / len(y))
        if on_epoch is not None:
            on_epoch(epoch, losses)
    return losses


def pgd_reference(net, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int, step_size: float) -> torch.Tensor:
    """Zero start, normalised gradient of exp(-y f) per sample, l2 projection.
    Returns which points are still correct after the final step."""
    delta = torch.zeros_like(x)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = torch.exp(-y * net(x + delta)).sum()
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            grad = grad / (grad.norm(dim=1, keepdim=True) + 1e-12)
            delta = delta + step_size * grad
            norm = delta.norm(dim=1, keepdim=True)
            delta = torch.where(norm > eps, delta * eps / norm, delta)
    with torch.no_grad():
        return y * net(x + delta) > 0


def pgd_as_written(net, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int, step_size: float) -> torch.Tensor:
    """The authors' l2 attack: zero start, the gradient of the batch-*mean* exp loss over
    all of x, normalised per sample with a +1e-7 guard, l2 projection. The final
    perturbations (n, D)."""
    delta = torch.zeros_like(x)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = torch.exp(-y * net(x + delta)).mean()
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            step = delta + step_size * grad / (grad.norm(dim=1, keepdim=True) + 1e-7)
            norm = step.norm(dim=1, keepdim=True)
            delta = step * torch.minimum(eps / norm, torch.ones_like(norm))
    return delta.detach()


def algorithm1_reference(net, ideal, x_data: torch.Tensor, n_batches: int, batch_size: int, steps: int,
                         step_size: float, seed: int) -> float:
    with torch.no_grad():
        f, F = net(x_data), ideal(x_data)
        c = float((f * F).mean() / (f * f).mean())
    gen = torch.Generator().manual_seed(seed)
    best = 0.0
    for _ in range(n_batches):
        x = torch.randn(batch_size, x_data.shape[1], generator=gen)
        x = x / x.norm(dim=1, keepdim=True)
        for _ in range(steps):
            x.requires_grad_(True)
            objective = ((c * net(x) - ideal(x)) ** 2).mean()
            (grad,) = torch.autograd.grad(objective, x)
            with torch.no_grad():
                x = x + step_size * grad / (grad.norm(dim=1, keepdim=True) + 1e-7)
                x = x / x.norm(dim=1, keepdim=True)
        with torch.no_grad():
            best = max(best, float((c * net(x) - ideal(x)).abs().max()))
    return best
