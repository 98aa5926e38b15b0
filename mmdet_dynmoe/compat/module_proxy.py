"""A stand-in for a module with a few attributes replaced.

The stack fixes in this package swap the module a *single third-party module*
sees under one global name (``lvis.eval.np``, ``mmengine.runner.checkpoint.torch``)
instead of mutating ``numpy`` or ``torch`` for every user in the process.
"""
from __future__ import annotations

import types
from typing import Any


class ModuleProxy(types.ModuleType):
    """Behaves like ``base`` except for the attributes given in ``overrides``.

    Args:
        base: the module to delegate to.
        **overrides: attributes served instead of ``base``'s.
    """

    def __init__(self, base: types.ModuleType, **overrides: Any) -> None:
        super().__init__(base.__name__, base.__doc__)
        self.__dict__.update(overrides)
        self._base = base

    def __getattr__(self, name: str) -> Any:
        # Only called for names not overridden above.
        return getattr(self._base, name)


def install_proxy(module: types.ModuleType, global_name: str,
                  **overrides: Any) -> bool:
    """Make ``module.<global_name>`` a :class:`ModuleProxy` (idempotent).

    Returns:
        True if installed now, False if ``module`` already had one.
    """
    current = getattr(module, global_name)
    if isinstance(current, ModuleProxy):
        return False
    setattr(module, global_name, ModuleProxy(current, **overrides))
    return True
