"""Fixes for the supported stack, applied when ``mmdet_dynmoe`` is imported.

Each fix is scoped to the third-party module that breaks and is a no-op where
the breakage does not occur:

- :mod:`.checkpoint_loading`: mmengine 0.10.7 ``--resume`` / ``load_from`` on
  torch >= 2.6 (``torch.load`` defaults to ``weights_only=True``).
- :mod:`.lvis_numpy`: lvis 0.5.3's ``np.float`` on numpy >= 1.24.
"""
from . import checkpoint_loading, lvis_numpy

checkpoint_loading.apply()
lvis_numpy.apply()

__all__ = ['checkpoint_loading', 'lvis_numpy']
