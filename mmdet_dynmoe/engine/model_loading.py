"""Get at the model: unwrap a wrapped one, build one from config + checkpoint.

The one home of these helpers for hooks and tools.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Union

from torch import nn


class LoadedModel(NamedTuple):
    """What :func:`load_model` returns."""
    model: nn.Module  # in eval mode, on the requested device
    cfg: Any  # the mmengine Config, cfg_options merged
    meta: dict  # the checkpoint's ``meta`` ({} without a checkpoint)


def unwrap_model(
        model: nn.Module,
        expected: Optional[Union[type, tuple[type, ...]]] = None) -> nn.Module:
    """The model inside a (DDP / FSDP / mmengine) wrapper, or the model.

    Args:
        model: ``runner.model`` or a bare model.
        expected: optional class(es) the unwrapped model must be.

    Raises:
        TypeError: the unwrapped model is not of ``expected``; the message
            names both types.
    """
    from mmengine.model import is_model_wrapper
    inner = model.module if is_model_wrapper(model) else model
    if expected is not None and not isinstance(inner, expected):
        names = ', '.join(
            t.__name__ for t in (expected if isinstance(expected, tuple) else (
                expected, )))
        raise TypeError(f'expected a {names} model, got '
                        f'{type(inner).__name__}')
    return inner


def load_model(config,
               checkpoint: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               device: str = 'cpu',
               strict: bool = False) -> LoadedModel:
    """Build ``config``'s model, load ``checkpoint`` into it, eval mode.

    Args:
        config: a config file path or an mmengine ``Config``.
        checkpoint: checkpoint path (or URL); None keeps the initial
            weights (``init_weights`` is *not* run).
        cfg_options: merged into the config first (``--cfg-options``).
        device: where the model goes.
        strict: passed to mmengine's ``load_checkpoint``.

    Returns:
        ``(model, cfg, meta)``, see :class:`LoadedModel`.
    """
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    meta = {}
    if checkpoint:
        loaded = load_checkpoint(
            model, checkpoint, map_location='cpu', strict=strict)
        meta = dict(loaded.get('meta', {})) if isinstance(loaded, dict) \
            else {}
    return LoadedModel(model.to(device).eval(), cfg, meta)
