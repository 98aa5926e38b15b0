"""Run a paper-scale config for one step on CPU, on a fixture in its layout.

Paper-scale configs keep their architecture, pipelines and data layout; the
test only changes what this machine cannot provide (no model hub, no
fairscale, two CPU cores): the language model becomes the offline MiniLM,
activation checkpointing is off, pretrained weights are not fetched, image
scales shrink 8x (>= 96 px), DETR-style models select 100 queries instead of
900, one image per batch, no worker processes, no checkpoint written.
"""
from __future__ import annotations

from typing import Any

from mmengine.config import Config

import mmdet_dynmoe

# An eighth of the configs' image scales, but no side under 96 px, so the
# encoder still has more tokens than the NUM_QUERIES it selects from.
SCALE_DIVISOR = 8
MIN_SIDE = 96
NUM_QUERIES = 100


def _shrink(obj: Any) -> Any:
    """Copy of a config value with its image scales shrink 3x (>= 224 px)d."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key in ('scale', 'crop_size') and _is_size(value):
                value = _div(value)
            elif key == 'scales' and isinstance(value, (list, tuple)):
                value = [_div(s) for s in value]
            elif key == 'tokenizer_name':
                value = mmdet_dynmoe.minilm_path()
            out[key] = _shrink(value)
        return type(obj)(out) if not isinstance(obj, Config) else out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_shrink(v) for v in obj)
    return obj


def _is_size(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, int) for v in value)


def _div(size):
    return tuple(max(MIN_SIDE, v // SCALE_DIVISOR) for v in size)


def cpu_step_cfg(config_path: str, work_dir: str) -> Config:
    """The config at ``config_path`` made runnable for one CPU iteration."""
    cfg = Config.fromfile(config_path)
    cfg.work_dir = work_dir
    cfg.load_from = None  # no model hub: random weights
    cfg.resume = False
    model = cfg.model
    if 'language_model' in model:
        model.language_model.name = mmdet_dynmoe.minilm_path()
    if 'num_queries' in model:
        model.num_queries = NUM_QUERIES
        if model.get('test_cfg', {}).get('max_per_img', 0) > NUM_QUERIES:
            # one-class prompts (ODinW) score only num_queries candidates
            model.test_cfg.max_per_img = NUM_QUERIES
    if 'encoder' in model and 'num_cp' in model.encoder:
        model.encoder.num_cp = 0  # fairscale is not installed here
    if 'backbone' in model:
        model.backbone.init_cfg = None
        if 'with_cp' in model.backbone:
            model.backbone.with_cp = False
    for name in ('train_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is None:
            continue
        loader.dataset = _shrink(loader.dataset.to_dict())
        loader.batch_size = 1
        loader.num_workers = 0
        loader.persistent_workers = False
        if loader.get('batch_sampler'):
            loader.batch_sampler = None  # aspect-ratio groups need > 1 image
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1)
    # no validation after the step (test_dataloader stays for runner.test())
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1000, by_epoch=False, save_last=False)
    cfg.default_hooks.pop('visualization', None)
    cfg.log_level = 'WARNING'
    return cfg
