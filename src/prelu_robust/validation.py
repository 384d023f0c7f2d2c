"""Checks that turn a bad setting into an error that says what to do.

Every experiment validates its whole configuration before any computation, so
a typo in a papermill sweep fails in milliseconds, not after an hour of training.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ParameterError", "require", "require_choice", "require_counts", "require_powers", "reject_unknown",
           "check_type", "check_fields"]


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


_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _describe(annotation: Any) -> str:
    """Words for a type annotation: ``tuple[float, ...]`` is "a list of numbers"."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " or ".join("None" if a is type(None) else _describe(a) for a in args)
    if typing.get_origin(annotation) is tuple:
        return f"a list of {_describe(args[0]).removeprefix('an ').removeprefix('a ')}s"
    return _WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _coerce(value: Any, annotation: Any) -> tuple[bool, Any]:
    """(whether ``value`` fits ``annotation``, the value as the notebook should receive it)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return type(None) in args, None
        for option in args:
            fits, coerced = _coerce(value, option)
            if fits:
                return True, coerced
        return False, value
    if origin is tuple:  # tuple[X, ...]: a list of X, a lone X taken as a list of one
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        checked = [_coerce(item, args[0]) for item in items]
        return all(fits for fits, _ in checked), [coerced for _, coerced in checked]
    if annotation is type(None):
        return value is None, value
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool), value
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if annotation in (bool, str):
        return isinstance(value, annotation), value
    return True, value


def check_type(name: str, value: Any, annotation: Any) -> Any:
    """``value`` as the type ``annotation`` (int, float, bool, str, ``tuple[X, ...]``,
    ``X | None``) expects it, a lone value standing for a list of one; raise
    :class:`ParameterError` naming ``name`` when it does not fit."""
    fits, coerced = _coerce(value, annotation)
    require(fits, name, value, _describe(annotation))
    return coerced


def check_fields(config_type: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each field of the dataclass ``config_type`` checked against its
    annotation (None keeps a profile's value and always passes); other names pass unchanged."""
    hints = typing.get_type_hints(config_type)
    return {name: value if value is None or name not in hints else check_type(name, value, hints[name])
            for name, value in values.items()}
