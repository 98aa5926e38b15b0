"""MoEAuxLossHook: collect MoE routing losses of a config-built model."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS
from mmdet_dynmoe.models.moe_aux_losses import attach_moe_aux_losses


@HOOKS.register_module()
class MoEAuxLossHook(Hook):
    """Adds every MoE layer's routing losses to the detector's loss dict.

    Needed only when ``MoEFFN`` layers come from a model's own config
    (``ffn_cfg=dict(type='MoEFFN', ...)``); models made MoE through
    ``upcycle_ffns`` are already wired.

    Args:
        per_layer: log/optimise one entry per MoE layer instead of sums.
    """

    priority = 'VERY_HIGH'

    def __init__(self, per_layer: bool = False) -> None:
        self.per_layer = per_layer

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        num = attach_moe_aux_losses(model, per_layer=self.per_layer)
        if num == 0:
            runner.logger.warning('MoEAuxLossHook: the model has no MoE layer')
