"""Run a config's val set with routing statistics on (for analysis tools)."""
from __future__ import annotations

import os.path as osp
from typing import Callable, Optional

from torch import nn


def val_with_routing_stats(config: str,
                           checkpoint: str,
                           out_dir: str,
                           per_image: bool = False,
                           max_images: Optional[int] = None,
                           select: Optional[Callable[[nn.Module],
                                                     bool]] = None,
                           what: str = 'MoE layer',
                           cfg_options: Optional[dict] = None) -> tuple:
    """Load ``checkpoint`` into ``config``'s model and run its val set while
    the chosen MoE layers record routing statistics.

    Args:
        config: config file.
        checkpoint: checkpoint to evaluate.
        out_dir: the Runner's work dir goes to ``out_dir/run``.
        per_image: also keep one record per image (see ``RoutingStats``).
        max_images: analyse only the first N val images.
        select: keep only MoE layers for which it returns True.
        what: how the error names the layers ``select`` keeps.
        cfg_options: overrides merged into the config first (a tool's
            ``--cfg-options``), e.g. the width the checkpoint was trained
            with when that was set on the command line.

    Returns:
        ``(runner, model, layers, metrics)``: ``layers`` are the
        ``(name, MoELayer)`` pairs whose ``stats`` hold the counts.

    Raises:
        SystemExit: no (selected) MoE layer.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmdet_dynmoe.moe import moe_layers
    from .model_loading import unwrap_model

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = osp.join(out_dir, 'run')
    cfg.load_from = checkpoint
    cfg.resume = False
    if max_images:
        cfg.val_dataloader.dataset.indices = max_images
    runner = Runner.from_cfg(cfg)
    model = unwrap_model(runner.model)
    layers = [(n, m) for n, m in moe_layers(model)
              if select is None or select(m)]
    if not layers:
        raise SystemExit(f'{config} has no {what}')
    for _, layer in layers:
        layer.stats.enable(per_image=per_image)
    metrics = runner.val()
    return runner, model, layers, metrics
