"""Fixes for the supported stack, applied when ``mmdet_dynmoe`` is imported.

Each fix is scoped to the third-party module that breaks and is a no-op where
the breakage does not occur:

- :mod:`.checkpoint_loading`: mmengine 0.10.7 ``--resume`` / ``load_from`` on
  torch >= 2.6 (``torch.load`` defaults to ``weights_only=True``).
- :mod:`.lvis_numpy`: lvis 0.5.3's ``np.float`` on numpy >= 1.24.
- :mod:`.resume_fallback`: ``--resume`` with nothing to resume keeps the
  config's ``load_from`` (mmdet's ``tools/train.py`` drops it).
- :mod:`.empty_image`: a zero-byte image fails without its path in mmcv
  2.1's ``LoadImageFromFile``.
- :mod:`.config_scope`: ``_base_ = 'mmdet_dynmoe::...'`` in configs
  (mmengine resolves ``pkg::`` only for packages it knows).
- :mod:`.moved_modules`: import paths of the layout before the method
  folders point at the new modules.
"""
from . import (checkpoint_loading, config_scope, empty_image, lvis_numpy,
               moved_modules, resume_fallback)

checkpoint_loading.apply()
lvis_numpy.apply()
empty_image.apply()
resume_fallback.apply()
config_scope.register_config_scope()
moved_modules.install()

__all__ = [
    'checkpoint_loading', 'config_scope', 'empty_image', 'lvis_numpy',
    'moved_modules', 'resume_fallback'
]
