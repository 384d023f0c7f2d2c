"""What every experiment shares: profiles, overrides and seeds."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any, TypeVar

from ..validation import reject_unknown, require_choice

C = TypeVar("C")

PROFILES = ("ci", "paper")
"""``ci``: minutes on 2 CPU cores; ``paper``: the paper's exact settings.
``auto`` (notebooks only) picks ``paper`` when its results are stored, else ``ci``."""


def build_config(profiles: Mapping[str, C], profile: str, overrides: Mapping[str, Any]) -> C:
    """The profile's config with the non-None ``overrides`` replaced.

    Unknown override names and unknown profiles raise before any computation.
    """
    require_choice("profile", profile, list(profiles))
    base = profiles[profile]
    given = {k: v for k, v in overrides.items() if v is not None}
    reject_unknown(type(base).__name__, given, [f.name for f in dataclasses.fields(base)])
    for name, value in given.items():
        if isinstance(value, list):
            given[name] = tuple(value)
    return dataclasses.replace(base, **given)


def derive_seed(*parts: Any) -> int:
    """A 31-bit seed determined by ``parts`` (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little") >> 1
