"""Build-time checks of config values: the key, the value, what is allowed.

A wrong value must fail when the model is built, naming the config key,
not as a shape or type error inside torch three layers down.
"""
from __future__ import annotations

from typing import Any


def check_int(key: str, value: Any, minimum: int = 1) -> int:
    """``value`` if it is an ``int`` >= ``minimum`` (not a bool or float).

    Raises:
        TypeError: not an integer (e.g. ``top_k=2.0`` or ``'2'``).
        ValueError: below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{key}={value!r} must be an integer >= {minimum} '
                        f'(got {type(value).__name__})')
    if value < minimum:
        raise ValueError(f'{key}={value} must be >= {minimum}')
    return value


def check_weight(key: str, value: Any) -> float:
    """A loss weight: a real number >= 0 (0 = the loss is off)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{key}={value!r} must be a number >= 0 (0 = off)')
    if not value >= 0:
        raise ValueError(f'{key}={value} must be >= 0 (0 = off)')
    return float(value)
