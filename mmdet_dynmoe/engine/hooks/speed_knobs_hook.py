"""SpeedKnobsHook: apply a checkpoint's calibrated speed knobs at test time."""
from __future__ import annotations

from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ..model_loading import unwrap_model
from ..speed_knobs import (apply_speed_knobs, current_speed_knobs,
                           find_speed_file, read_speed_file)


@HOOKS.register_module()
class SpeedKnobsHook(Hook):
    """Before testing, set the knobs of ``<checkpoint stem>.speed.json``.

    tools/calibrate_speed.py writes that file for a latency or GFLOPs
    target; with this hook in the config, ``mim test CONFIG CKPT`` runs at
    the calibrated setting and logs it (nothing happens when there is no
    file). See :mod:`mmdet_dynmoe.engine.speed_knobs`.

    Args:
        file: ``'auto'`` (the file next to the loaded checkpoint), a path,
            or None (keep the config's knobs).
    """

    priority = 'VERY_HIGH'  # before any hook that reports what ran

    def __init__(self, file: Optional[str] = 'auto') -> None:
        self.file = file

    def before_test(self, runner) -> None:
        path = find_speed_file(self.file, runner._load_from)
        if path is None:
            return
        model = unwrap_model(runner.model)
        apply_speed_knobs(model, read_speed_file(path))
        print_log(
            f'speed knobs from {path}: {current_speed_knobs(model)}',
            logger='current')
