"""Make lvis 0.5.3 (the PyPI release mmdet's LVIS metrics use) run on numpy 2.

``lvis.eval.LVISEval.accumulate`` calls ``astype(dtype=np.float)``; the
``np.float`` alias was removed in numpy 1.24, so ``LVISMetric`` and
``LVISFixedAPMetric`` crash after inference. ``lvis.eval`` is given a numpy
whose ``float`` is the builtin (what the alias always meant); numpy itself is
left untouched.
"""
from __future__ import annotations

import importlib.util

import numpy as np

from .module_proxy import install_proxy


def needs_fix() -> bool:
    """numpy lacks the alias and lvis is installed."""
    return (not hasattr(np, 'float')
            and importlib.util.find_spec('lvis') is not None)


def apply() -> None:
    """Give ``lvis.eval`` the ``np.float`` alias back (idempotent)."""
    if not needs_fix():
        return
    import lvis.eval
    install_proxy(lvis.eval, 'np', float=float)
