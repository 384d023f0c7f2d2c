"""l2 PGD attacks on a binary classifier ``sign f(x)`` and robust-accuracy curves.

Three variants of the Section 5.1 attack (:data:`VARIANTS`), all from the clean
point, ``steps`` steps of ``step_size``, projected onto the l2 ball of radius ``eps``:

- :func:`as_written`: the authors' code. The gradient of the *batch-mean* loss
  ``mean_i exp(-y_i f(x_i))`` over ``loss_batch`` points is normalised per point
  with a ``+1e-7`` guard: a point's gradient carries a factor ``exp(-y f)/n``, so
  its step shrinks to ``step_size * g/(g + 1e-7)`` (g that gradient's norm) as its
  loss falls, and a point far on the correct side stalls there. This is the curve
  of the paper's figure, artefacts included.
- :func:`exact`: the same steps, normalised exactly: along ``-grad(y f)/|grad(y f)|``,
  the direction of the exp-loss gradient, taken on the margin so that nothing
  underflows. What the reference algorithm means.
- :func:`strong`: :func:`exact` plus more starts: the straight line toward each
  opposite-class centre (its end point is judged, and the one of smallest margin
  starts a PGD run) and random points of the ball; a point counts as broken if
  *any* iterate is. Our best upper bound of the true robust accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..cycles import Cycles
from ..models import PReLUNet
from ..spaces import FullSpace, row_blocks, score_and_grad
from ..validation import require
from .curve import accuracy_over_radii

__all__ = ["L2Attack", "GUARD", "written_share", "as_written", "exact", "strong", "VARIANTS", "Centres", "random_in_ball",
           "ZeroStartRuns", "still_correct", "robust_accuracy_curve"]

Tensor = torch.Tensor


#: The authors' guard in the per-point normalisation ``grad / (|grad| + 1e-7)``.
GUARD = 1e-7


@dataclass(frozen=True)
class L2Attack:
    """An l2 PGD attack. ``restarts`` runs from a random point of the ball each
    (the first from the clean point unless ``random_start``; with ``toward_centres``
    the second from the straight line toward the nearest-in-margin opposite-class
    centre); ``keep_best`` counts a point as broken if any iterate is misclassified,
    otherwise only the final iterate counts (the reference).

    ``loss_batch``: normalise as written (see the module docstring) for a batch-mean
    loss over that many points; None normalises exactly."""

    steps: int
    step_size: float = 0.1
    restarts: int = 1
    random_start: bool = False
    keep_best: bool = False
    toward_centres: bool = False
    loss_batch: int | None = None

    def __post_init__(self) -> None:
        require(self.steps >= 1, "attack steps", self.steps, "an integer >= 1")
        require(self.step_size > 0, "attack step_size", self.step_size, "a number > 0")
        require(self.restarts >= 1, "attack restarts", self.restarts, "an integer >= 1")
        require(self.loss_batch is None or self.loss_batch >= 1, "attack loss_batch", self.loss_batch,
                "None or an integer >= 1")
        require(not self.toward_centres or self.restarts >= 2, "attack restarts", self.restarts,
                "at least 2 when starting toward the centres (the first run starts at the clean point)")


def as_written(steps: int = 2000, step_size: float = 0.1, *, loss_batch: int = 20000) -> L2Attack:
    """The authors' attack exactly: batch-mean exp loss over ``loss_batch`` points (their
    whole test set), per-point normalisation with the +1e-7 guard, final iterate."""
    return L2Attack(steps, step_size, loss_batch=loss_batch)


def exact(steps: int = 2000, step_size: float = 0.1) -> L2Attack:
    """The same steps normalised exactly (on the margin: no underflow), final iterate."""
    return L2Attack(steps, step_size)


def strong(steps: int = 2000, step_size: float = 0.1, *, restarts: int = 3) -> L2Attack:
    """:func:`exact` from the clean point, from the straight line toward an opposite-class
    centre and from ``restarts - 2`` random points of the ball; any misclassified iterate
    breaks a point."""
    return L2Attack(steps, step_size, restarts=restarts, keep_best=True, toward_centres=True)


#: The attack variants by name, each ``(steps, step_size) -> L2Attack``.
VARIANTS = {"as_written": as_written, "exact": exact, "strong": strong}


@dataclass(frozen=True)
class Centres:
    """The cluster centres (K, D) and their labels (K,) in {-1, +1}: the targets of the
    straight-line starts."""

    points: Tensor
    labels: Tensor

    def lines(self, x: Tensor, y: Tensor, eps: float) -> list[tuple[Tensor, Tensor]]:
        """Per opposite-class centre k, the perturbations ``eps (mu_k - x)/|mu_k - x|`` (n, D)
        and which points (n,) bool it applies to (those labelled other than mu_k)."""
        out = []
        for centre, label in zip(self.points.to(x), self.labels.to(y)):
            toward = centre[None, :] - x
            out.append((eps * _unit_rows(toward), y != label))
        return out


def _unit_rows(v: Tensor) -> Tensor:
    """Each row divided by its norm; a zero row stays zero (0 / tiny)."""
    return v / v.norm(dim=1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)


def random_in_ball(n: int, dim: int, eps: float, generator: torch.Generator, dtype=torch.float32,
                   device: torch.device | str = "cpu") -> Tensor:
    """``n`` points uniform in the l2 ball of radius ``eps`` in R^dim, shape (n, dim)."""
    direction = _unit_rows(torch.randn(n, dim, generator=generator, dtype=dtype))
    radius = eps * torch.rand(n, 1, generator=generator, dtype=dtype) ** (1.0 / dim)
    return (direction * radius).to(device)


def written_share(log_gradient_norm: Tensor) -> Tensor:
    """The share (n,) of a step the authors' normalisation ``g / (|g| + GUARD)`` takes, for
    per-point gradients of the batch-mean loss of norms ``exp(log_gradient_norm)`` (n,):
    ``sigmoid(log |g| - log GUARD)``, which neither underflows nor overflows."""
    return torch.sigmoid(log_gradient_norm - math.log(GUARD))


def _descend(a: Tensor, s: Tensor, f: Tensor, grad: Tensor, y: Tensor, eps: float,
             attack: L2Attack) -> tuple[Tensor, Tensor]:
    """One step down the margin ``y f`` (``f`` (n,) and its gradient ``grad`` (n, r) at
    (a, s)), of length ``step_size`` (exact) or its written share, scaled back onto the
    l2 ball of radius eps (norm^2 = |a|^2 + s^2). A zero gradient does not move the point."""
    grad_norm = torch.linalg.vector_norm(grad, dim=1)
    scale = (y * attack.step_size) / grad_norm.clamp_min(torch.finfo(grad.dtype).tiny)
    if attack.loss_batch is not None:
        # a point's gradient of mean_i exp(-y_i f_i) has norm exp(-y f) |grad f| / loss_batch
        scale = scale * written_share(-y * f + torch.log(grad_norm) - math.log(attack.loss_batch))
    a = torch.addcmul(a, grad, scale[:, None], value=-1.0)
    norm = (torch.linalg.vector_norm(a, dim=1).square() + s.square()).sqrt()
    factor = (eps / norm.clamp_min(eps)).clamp_max(1.0)
    return a.mul_(factor[:, None]), s * factor


def _pgd(bind: Callable[[Tensor], Callable], a: Tensor, s: Tensor, y: Tensor, eps: float, attack: L2Attack,
         keep_best: bool) -> tuple[Tensor, ...]:
    """``attack.steps`` steps from (a (n, r), s (n,)) down the margin of the model
    ``bind(rows)`` of the points ``rows`` (indices); the last iterate and (``keep_best``)
    the iterate of smallest margin.

    A point whose iterates cycle (:class:`~prelu_robust.cycles.Cycles`) has had every
    iterate of its cycle judged: it steps on to the iterate of the last step and leaves
    the block. Until a point leaves, the others' iterates are bitwise those of running
    every step; after, the smaller block may round differently (as another CPU would),
    each point still stepping on its own."""
    n = len(s)
    best_margin = torch.full_like(s, float("inf"))
    best_a, best_s = a.clone(), s.clone()
    last_a, last_s = a.clone(), s.clone()
    active = torch.arange(n, device=s.device)
    model, cycles = bind(active), Cycles(a, s, attack.steps)
    for step in range(1, attack.steps + 1):
        f, grad = model(a, s)
        if keep_best:
            margin = y[active] * f
            better = margin < best_margin[active]
            rows = active[better]
            best_margin[rows], best_a[rows], best_s[rows] = margin[better], a[better], s[better]
        a, s = _descend(a, s, f, grad, y[active], eps, attack)
        done = cycles.saw(step, a, s)
        if not bool(done.any()):
            continue
        last_a[active[done]], last_s[active[done]] = a[done], s[done]
        stay = ~done
        if not bool(stay.any()):
            break
        active, a, s = active[stay], a[stay], s[stay]
        cycles.keep(stay)
        model = bind(active)
    return last_a, last_s, best_a, best_s


def _binder(space, anchor: Tensor, u: Tensor | None) -> Callable[[Tensor], Callable]:
    """``rows -> space.bind`` of those rows of ``anchor`` (and ``u``)."""
    return lambda rows: space.bind(anchor[rows], None if u is None else u[rows])


def _run_and_judge(space, exact_space, anchors: tuple[Tensor, Tensor], y: Tensor, eps: float, attack: L2Attack,
                   start: tuple[Tensor, Tensor, Tensor | None], keep_best: bool) -> tuple[Tensor, Tensor | None]:
    """One PGD run from ``start`` = (a, s, u); whether each point's last iterate and (with
    ``keep_best``) its iterate of smallest surrogate margin are still correct, judged by
    ``exact_space``: two (n,) bool, the second None without ``keep_best``."""
    (step_anchor, exact_anchor), (a, s, u) = anchors, start
    a, s, best_a, best_s = (torch.cat(parts) for parts in zip(*[
        _pgd(_binder(space, step_anchor[rows], None if u is None else u[rows]), a[rows], s[rows], y[rows], eps,
             attack, keep_best) for rows in row_blocks(len(y), space.dim)]))
    exact = exact_space.bind(exact_anchor, u)
    last_ok = y * exact(a, s)[0] > 0
    return last_ok, (y * exact(best_a, best_s)[0] > 0) if keep_best else None


class ZeroStartRuns:
    """The PGD run from the clean point at a radius is both the reference attack and
    the strong attack's first restart (same start, same steps). Curves of the two
    attacks on the same points, spaces and steps share one record, so each such run
    is done once and judged both ways (its last iterate; with ``keep_best``, its iterate
    of smallest margin too). Run the strong curve first: it attacks only the survivors
    of smaller radii, and tracks the best iterate of those alone; the reference then
    runs the other points without tracking.

    Holds per radius the verdicts (n_points,) and which points have them.
    """

    def __init__(self, n_points: int) -> None:
        self.n_points = n_points
        self._runs: dict[tuple, tuple[Tensor, ...]] = {}

    def verdicts(self, rows: Tensor, eps: float, attack: L2Attack, run) -> tuple[Tensor, Tensor | None]:
        """The verdicts (last, best; best None without ``attack.keep_best``) of the points
        ``rows`` (indices); ``run(missing, keep_best)`` runs the indices ``missing`` that
        lack them and returns theirs."""
        key = (float(eps), attack.steps, attack.step_size, attack.loss_batch)
        if key not in self._runs:
            self._runs[key] = tuple(torch.zeros(self.n_points, dtype=torch.bool, device=rows.device)
                                    for _ in range(4))
        last, best, has_last, has_best = self._runs[key]
        missing = rows[~(has_best if attack.keep_best else has_last)[rows]]
        if len(missing):
            last[missing], best_found = run(missing, attack.keep_best)
            has_last[missing] = True
            if best_found is not None:
                best[missing], has_best[missing] = best_found, True
        return last[rows], best[rows] if attack.keep_best else None


def _toward_centres(space, exact_space, exact_anchor: Tensor, x: Tensor, y: Tensor, eps: float,
                    centres: Centres) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor | None]]:
    """The straight lines of length eps toward the opposite-class centres: which points
    (n,) bool survive all of them (judged by ``exact_space``), and the start (a, s, u) of
    smallest margin per point, in ``space``'s coordinates."""
    survive = torch.ones(len(y), dtype=torch.bool, device=x.device)
    best_margin = torch.full((len(y),), float("inf"), dtype=x.dtype, device=x.device)
    best = torch.zeros_like(x)
    for delta, applies in centres.lines(x, y, eps):
        a, s, u = exact_space.split(delta)
        margin = y * exact_space.bind(exact_anchor, u)(a, s)[0]
        margin = torch.where(applies, margin, torch.full_like(margin, float("inf")))
        survive &= margin > 0
        better = margin < best_margin
        best_margin = torch.where(better, margin, best_margin)
        best = torch.where(better[:, None], delta, best)
    return survive, space.split(best)


@torch.no_grad()
def still_correct(space, x: Tensor, y: Tensor, eps: float, attack: L2Attack,
                  generator: torch.Generator | None = None, exact_space=None,
                  anchors: tuple[Tensor, Tensor] | None = None,
                  zero_start: tuple[Tensor, Tensor] | None = None, centres: Centres | None = None) -> Tensor:
    """Which points (n,) bool keep ``y f(x + delta) > 0`` after the attack.

    ``space`` is a :class:`~prelu_robust.spaces.FullSpace` or
    :class:`~prelu_robust.spaces.NeuronSpan`: steps move the coordinates of
    delta in that space. ``exact_space`` (same coordinates, default ``space``)
    judges the points found: a cheap surrogate may steer the steps while the
    verdict stays exact. With ``keep_best`` the iterate of smallest surrogate
    margin is judged as well as the last one. ``anchors``: the two spaces'
    ``anchor(x)``, when the caller has them already. ``zero_start``: the verdicts
    (last, best or None) of the run from the clean point, when known (:class:`ZeroStartRuns`).
    ``centres``: the targets of ``attack.toward_centres``.
    """
    exact_space = exact_space or space
    if anchors is None:
        step_anchor = space.anchor(x)
        anchors = step_anchor, step_anchor if exact_space is space else exact_space.anchor(x)
    zero = torch.zeros(x.shape[0], space.dim, dtype=x.dtype, device=x.device)
    no_orth = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    survive = y * exact_space.bind(anchors[1])(zero, no_orth)[0] > 0
    if eps == 0:
        return survive
    require(not attack.toward_centres or centres is not None, "centres", None,
            "the cluster centres (Centres) for an attack that starts toward them")
    gen = generator or torch.Generator().manual_seed(0)
    for restart in range(attack.restarts):
        if attack.toward_centres and restart == 1:
            line_ok, start = _toward_centres(space, exact_space, anchors[1], x, y, eps, centres)
            survive &= line_ok
        elif attack.random_start or restart > 0:
            start = space.split(random_in_ball(x.shape[0], x.shape[1], eps, gen, x.dtype, x.device))
        elif zero_start is not None:
            last_ok, best_ok = zero_start
            survive &= last_ok if best_ok is None else last_ok & best_ok
            continue
        else:
            start = zero.clone(), no_orth.clone(), None
        last_ok, best_ok = _run_and_judge(space, exact_space, anchors, y, eps, attack, start, attack.keep_best)
        survive &= last_ok if best_ok is None else last_ok & best_ok
    return survive


def robust_accuracy_curve(classifier: Callable[[Tensor], Tensor] | PReLUNet, x: Tensor, y: Tensor,
                          eps_grid: Sequence[float], attack: L2Attack, *, seed: int = 0,
                          chunk_size: int = 4096, space=None, exact_space=None,
                          carry_broken: bool = False, zero_start: ZeroStartRuns | None = None,
                          centres: Centres | None = None) -> Tensor:
    """Fraction of points (len(eps_grid),) still correctly classified at each radius.

    ``classifier`` is a score function x (n, D) -> (n,) (a plain
    :class:`PReLUNet` uses its closed-form gradient). ``space`` restricts the
    steps (default: the full space) and ``exact_space`` judges the points found
    (see :func:`still_correct`). Radius 0 is clean accuracy.

    ``carry_broken``: a point broken at a smaller radius is broken at every
    larger one (its adversarial point stays admissible), so only the survivors
    are attacked, radii in increasing order. Exact for the verdict "some
    adversarial point exists"; the reference attack reports each radius on its
    own instead, which is what the paper plots.

    ``zero_start``: a record shared with another curve on the same points and spaces
    (see :class:`ZeroStartRuns`), whose runs from the clean point this one reuses.
    ``centres``: the targets of ``attack.toward_centres`` (:func:`strong`).

    When ``exact_space`` can certify points (``certified(anchor, y, eps)``, e.g.
    :class:`~prelu_robust.spaces.SignExactSpan`), a radius at which every point is
    provably robust is not attacked: no attack could change its verdicts.
    """
    require(all(e >= 0 for e in eps_grid), "eps_grid", list(eps_grid), "radii >= 0")
    require(not attack.toward_centres or centres is not None, "centres", None,
            "the cluster centres (Centres) for an attack that starts toward them")
    space = space or FullSpace(score_and_grad(classifier), x.shape[1])
    exact_space = exact_space or space
    # what does not move with the perturbation is computed once for all radii
    step_anchor = space.anchor(x)
    exact_anchor = step_anchor if exact_space is space else exact_space.anchor(x)
    may_certify = hasattr(exact_space, "certified")

    def verdicts(idx: Tensor, i: int, eps: float) -> Tensor:
        nonlocal may_certify
        if may_certify and eps > 0:
            # every point provably robust at this radius: no attack can change the verdicts. The
            # bound only weakens with eps (radii go up), so the first radius it misses ends the checks.
            if bool(exact_space.certified(exact_anchor[idx], y[idx], eps).all()):
                return torch.ones(len(idx), dtype=torch.bool, device=x.device)
            may_certify = False
        gen = torch.Generator().manual_seed(seed + i)
        kept = []
        for s in range(0, len(idx), chunk_size):
            rows = idx[s:s + chunk_size]
            known = None
            if zero_start is not None and eps > 0 and not attack.random_start:
                known = zero_start.verdicts(rows, eps, attack, lambda missing, keep_best: _run_and_judge(
                    space, exact_space, (step_anchor[missing], exact_anchor[missing]), y[missing], eps, attack,
                    (torch.zeros(len(missing), space.dim, dtype=x.dtype, device=x.device),
                     torch.zeros(len(missing), dtype=x.dtype, device=x.device), None), keep_best))
            kept.append(still_correct(space, x[rows], y[rows], eps, attack, gen, exact_space,
                                      anchors=(step_anchor[rows], exact_anchor[rows]), zero_start=known,
                                      centres=centres))
        return torch.cat(kept) if kept else torch.zeros(0, dtype=torch.bool, device=x.device)

    return accuracy_over_radii(x.shape[0], eps_grid, verdicts, survivors_only=carry_broken, device=x.device)
