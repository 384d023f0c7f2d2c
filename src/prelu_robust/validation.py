"""Checks that turn a bad setting into an error that says what to do.

Every experiment validates its whole configuration before any computation, so
a typo in a papermill sweep fails in milliseconds, not after an hour of training.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["ParameterError", "require", "require_choice", "require_counts", "require_powers", "reject_unknown"]


class ParameterError(ValueError):
    """A setting is unknown, out of range or inconsistent with another one."""


def require(condition: bool, name: str, value: Any, allowed: str) -> None:
    """Raise :class:`ParameterError` naming ``name`` unless ``condition`` holds.

    ``allowed`` describes the admissible values, e.g. ``"a number >= 1"``.
    """
    if not condition:
        raise ParameterError(f"invalid {name}={value!r}: expected {allowed}.")


def require_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise unless ``value`` is one of ``allowed``; the message lists them."""
    allowed = list(allowed)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"unknown {name}={value!r}: choose one of {listed}.")


def require_counts(config: Any, *names: str) -> None:
    """Raise unless each named attribute of ``config`` is an integer >= 1."""
    for name in names:
        value = getattr(config, name)
        require(isinstance(value, int) and value >= 1, name, value, "an integer >= 1")


def require_powers(powers: Any) -> None:
    """Raise unless ``powers`` is a non-empty list of exponents p >= 1."""
    require(len(powers) >= 1 and all(p >= 1 for p in powers), "powers", powers, "a non-empty list of exponents p >= 1")


def reject_unknown(kind: str, given: Iterable[str], known: Iterable[str]) -> None:
    """Raise if ``given`` holds names that are not in ``known``."""
    known = sorted(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ParameterError(
            f"unknown {kind} parameter(s) {unknown}; known parameters are: {', '.join(known)}."
        )
