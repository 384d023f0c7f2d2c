"""The span engine: the fast, exact-verdict attack and Algorithm 1 on one trained
plain pReLU net, set up in one call.

Steps are steered by the *steering net*, in the span of its neurons (plus any ``extra``
directions, e.g. the cluster centres). Two steerings (:data:`STEERINGS`):

- ``"exact"``: every neuron of at least ``prune_tol`` of the largest contribution, each on
  its own, in their span down to ``prune_tol`` of its largest singular value: the net's own
  gradient, less what neurons and directions below ``prune_tol`` add. At p = 1 the neurons
  are summed by group wherever a group's sign is proven (:class:`~prelu_robust.spaces.GroupedSpan`):
  the same sums in another order, at the cost of a few units for most points;
- ``"merged"``: the neurons of at least ``surrogate_tol`` of the largest contribution,
  merged by direction (:func:`~prelu_robust.neurons.merge_by_direction`), in their span down
  to ``surrogate_tol``: a surrogate, tens of times cheaper for p = 1 (hundreds of neurons
  merge into two), but not the net's gradient. On the paper-scale p = 1 nets it steers PGD
  to other outcomes just past the breaking radius
  (``benchmarks/reports/RESULTS_ATTACK_FIDELITY_P1*.md``); the paper store's first entries
  hold its curves.

Verdicts have the full net's exact sign (:class:`~prelu_robust.spaces.SignExactSpan`:
the neurons above ``prune_tol`` of the largest contribution, and all of them where
the others could flip a sign). A radius where every point is certified is not
attacked. The distances of Algorithm 1 are scored with the neurons above
``prune_tol``; the others change a distance by at most ``distance_rest_bound``.

    engine = SpanEngine.build(net, surrogate_tol=1e-3, prune_tol=1e-6, extra=spec.centers(), steering="exact")
    curve = engine.robust_accuracy_curve(x, y, eps_grid, L2Attack(steps=2000), seed=0)
    estimate = engine.distance_to(ideal_net(spec, p), x_train, seed=0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from . import neurons
from .attacks.pgd import Centres, L2Attack, ZeroStartRuns, robust_accuracy_curve
from .metrics import DistanceEstimate, distance_to_ideal
from .models import PReLUNet
from .spaces import Basis, GroupedSpan, NeuronSpan, SignExactSpan, neuron_basis, score_and_grad
from .validation import require

__all__ = ["SpanEngine", "STEERINGS"]

Tensor = torch.Tensor

#: The steerings of :meth:`SpanEngine.build` (see the module docstring).
STEERINGS = ("exact", "merged")

#: Points attacked per call: the span engine's arrays are (rows, r), small enough for all.
CHUNK = 20000


@dataclass(frozen=True)
class SpanEngine:
    """One trained net and the spaces the fast computations use.

    ``surrogate``: the steering net (the neurons that steer the steps, merged or not);
    ``basis``: the orthonormal basis (D, r) the steps move in; ``steps``: the steering
    net in that basis; ``verdicts``: the net's exact signs in that basis.
    """

    net: PReLUNet
    surrogate: PReLUNet
    basis: Basis
    steps: NeuronSpan | GroupedSpan
    verdicts: SignExactSpan

    @classmethod
    def build(cls, net: PReLUNet, *, surrogate_tol: float, prune_tol: float = 0.0,
              extra: Tensor | None = None, steering: str = "merged") -> "SpanEngine":
        """Set up the engine for the plain net ``net`` with one of :data:`STEERINGS`;
        ``extra`` (m, D) rows join the basis."""
        require(steering in STEERINGS, "steering", steering, f"one of {', '.join(STEERINGS)}")
        if steering == "merged":
            return cls.steered_by(net, tol=surrogate_tol, merge=surrogate_tol, rank_tol=surrogate_tol,
                                  prune_tol=prune_tol, extra=extra)
        return cls.steered_by(net, tol=prune_tol, merge=0.0, rank_tol=prune_tol, prune_tol=prune_tol, extra=extra)

    @classmethod
    def steered_by(cls, net: PReLUNet, *, tol: float, merge: float, rank_tol: float, prune_tol: float = 0.0,
                   extra: Tensor | None = None) -> "SpanEngine":
        """The engine steered by the neurons of at least ``tol`` of the largest contribution,
        merged where their cosine exceeds ``1 - merge`` (0: not merged), in their span down to
        ``rank_tol`` (:func:`~prelu_robust.spaces.neuron_basis`) plus ``extra`` (m, D)."""
        contribution = neurons.contributions(net.W.detach(), net.v.detach()[0])
        steering = net.subnet(neurons.dominant(contribution, tol))
        if merge > 0:
            steering = neurons.merge_by_direction(steering, cos_tol=merge)
        basis = neuron_basis(steering, rank_tol=rank_tol, extra=extra)
        # every neuron on its own: at p = 1 grouped where their signs are provably shared (the same sums)
        steps = GroupedSpan(steering, basis.vectors) if merge == 0 and net.p == 1.0 else \
            NeuronSpan(steering, basis.vectors)
        return cls(net, steering, basis, steps, SignExactSpan(net, basis.vectors, tol=prune_tol))

    def space_of(self, other: PReLUNet) -> NeuronSpan:
        """Another plain net (e.g. the ideal classifier) in the engine's basis."""
        return NeuronSpan(other, self.basis.vectors)

    def scores(self, x: Tensor) -> Tensor:
        """The net's scores (n,) at x (n, D), with its exact signs."""
        return self.verdicts.scores(x)

    def robust_accuracy_curve(self, x: Tensor, y: Tensor, eps_grid: Sequence[float], attack: L2Attack, *,
                              seed: int, carry_broken: bool = False,
                              zero_start: ZeroStartRuns | None = None, centres: Centres | None = None) -> Tensor:
        """:func:`~prelu_robust.attacks.robust_accuracy_curve` of the net on x (n, D), y (n,),
        steered by the steering net and judged by the exact verdicts: (len(eps_grid),)."""
        return robust_accuracy_curve(self.net, x, y, eps_grid, attack, seed=seed, space=self.steps,
                                     exact_space=self.verdicts, chunk_size=CHUNK, carry_broken=carry_broken,
                                     zero_start=zero_start, centres=centres)

    def distance_to(self, ideal: PReLUNet, x_data: Tensor, *, n_batches: int, batch_size: int, steps: int,
                    step_size: float, seed: int, ideal_space: NeuronSpan | None = None,
                    written: bool = False) -> DistanceEstimate:
        """Algorithm 1 (:func:`~prelu_robust.metrics.distance_to_ideal`; ``written``: as the
        authors' code runs it) between the net and ``ideal``, stepping in the engine's basis
        and scored with the dominant neurons."""
        return distance_to_ideal(
            score_and_grad(self.net), score_and_grad(ideal), x_data, n_batches=n_batches, batch_size=batch_size,
            steps=steps, step_size=step_size, seed=seed, spaces=(self.steps, ideal_space or self.space_of(ideal)),
            exact_net_space=self.verdicts.dominant, written=written)

    @property
    def distance_rest_bound(self) -> float:
        """What the neurons left out of the scores change ``|f(x)|`` by at most on the unit
        sphere; times the fitted scale c, a bound on their effect on a distance."""
        return self.verdicts.rest_bound
