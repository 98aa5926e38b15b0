"""Make mmengine 0.10.7 load its own checkpoints on torch >= 2.6.

torch 2.6 changed ``torch.load``'s default to ``weights_only=True``. mmengine
0.10.7 calls ``torch.load(filename, map_location=...)`` without the argument,
and its checkpoints are not weights-only: the message hub stores
``HistoryBuffer`` objects (whose state holds bound methods, pickled through
``getattr``) and numpy arrays. Allow-listing those types would mean allowing
``builtins.getattr``, which defeats the safe unpickler, so ``--resume``,
``load_from`` and ``init_cfg=dict(type='Pretrained')`` would fail.

The fix restores the pre-2.6 default *only for mmengine's checkpoint loaders*
(local files, ``s3://``, ``pavi://``, ``open-mmlab://`` files): the mmengine
module that calls ``torch.load`` sees a ``torch`` whose ``load`` defaults to
``weights_only=False``. Every other ``torch.load`` in the process keeps
torch's default. As before torch 2.6, only load checkpoints you trust.
"""
from __future__ import annotations

import functools
from typing import Any

import torch
from mmengine.utils import digit_version

from .module_proxy import install_proxy

# The mmengine module whose checkpoint loaders call ``torch.load`` (URLs go
# through ``torch.hub.load_state_dict_from_url``, which passes
# ``weights_only=False`` itself).
_MMENGINE_LOADER_MODULE = 'mmengine.runner.checkpoint'


@functools.wraps(torch.load)
def load_trusted_checkpoint(*args: Any,
                            weights_only: bool = False,
                            **kwargs: Any) -> Any:
    """``torch.load`` with the pre-2.6 default ``weights_only=False``."""
    return torch.load(*args, weights_only=weights_only, **kwargs)


def needs_fix() -> bool:
    """torch >= 2.6 loads weights-only by default."""
    return digit_version(torch.__version__) >= digit_version('2.6.0')


def apply() -> None:
    """Install the fix into mmengine's checkpoint loaders (idempotent)."""
    if not needs_fix():
        return
    import importlib
    module = importlib.import_module(_MMENGINE_LOADER_MODULE)
    install_proxy(module, 'torch', load=load_trusted_checkpoint)
