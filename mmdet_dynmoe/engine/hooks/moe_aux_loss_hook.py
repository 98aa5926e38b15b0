"""MoEAuxLossHook: collect MoE routing losses of a config-built model."""
from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmdet_dynmoe.models import attach_moe_aux_losses
from ..model_loading import unwrap_model


@HOOKS.register_module()
class MoEAuxLossHook(Hook):
    """Adds every MoE layer's routing losses to the detector's loss dict.

    Needed only when ``MoEFFN`` layers come from a model's own config
    (``ffn_cfg=dict(type='MoEFFN', ...)``); the MoE detectors (``moe_cfg``)
    and models made MoE through ``upcycle_ffns`` are already wired.

    Args:
        per_layer: log/optimise one entry per MoE layer instead of sums.
    """

    priority = 'VERY_HIGH'

    def __init__(self, per_layer: bool = False) -> None:
        self.per_layer = per_layer

    def before_run(self, runner) -> None:
        model = unwrap_model(runner.model)
        num = attach_moe_aux_losses(model, per_layer=self.per_layer)
        if num == 0:
            runner.logger.warning('MoEAuxLossHook: the model has no MoE layer')
