"""RouterStepHook: refuse a DynamicDet step-2 run without step-1 weights."""
from __future__ import annotations

import os.path as osp

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import find_latest_checkpoint

from .dynamic_detector import unwrap


@HOOKS.register_module()
class RouterStepHook(Hook):
    """Check, before anything runs, that step 2 starts from step 1.

    DynamicDet's step 2 trains only the router, on the losses of the two
    detectors trained in step 1; with no checkpoint it would learn to route
    between two random detectors. The model itself also refuses to compute
    the router loss before a step-1 checkpoint is loaded; this hook fails
    earlier, at ``before_run``, and names the config key.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = unwrap(runner.model)
        if model.step != 2:
            raise ValueError(
                f'RouterStepHook is for DynamicDet step 2 (router training), '
                f'but model.step={model.step}; remove the hook or set '
                'model.step=2')
        load_from = runner._load_from
        if load_from is None and runner._resume:
            load_from = find_latest_checkpoint(runner.work_dir)
        if load_from is None:
            raise ValueError(
                'DynamicDet step 2 trains the router on the step-1 detectors: '
                'load_from=None, set load_from to the checkpoint the step-1 '
                'config wrote (e.g. work_dirs/<step-1 config>/iter_N.pth)')
        if '://' not in load_from and not osp.isfile(load_from):
            raise FileNotFoundError(
                f'DynamicDet step 2: load_from={load_from!r} does not exist; '
                'train the step-1 config first or point load_from at its '
                'checkpoint')
