"""mmdet adapters of the MoE engine (thin: the math is in ``moe/``).

moe_ffn.py (MoEFFN: mmcv FFN contract -> MoELayer, dense upcycling on load)
| ffn_replacement.py (``moe_cfg``: which FFNs of a built model become MoE)
| token_masks.py (padding / denoising masks from the enclosing DETR layer)
| moe_detectors.py (MoEDINO, MoEDeformableDETR: ``moe_cfg`` + routing losses
in ``loss()``) | routing_loss_collector.py (forward hooks for models we do
not subclass) | freezing.py (``trainable`` patterns) | decoder_depth.py
(``test_cfg['decoder_depth']`` / ``['decoder_exit']``: fewer decoder layers
at test time, fixed or per image).
"""
from .decoder_depth import DecoderDepthMixin
from .ffn_replacement import (WHERE_ALIASES, apply_moe_cfg, find_ffns,
                              upcycle_ffns)
from .freezing import freeze_except
from .moe_detectors import MoEDeformableDETR, MoEDetectorMixin, MoEDINO
from .moe_ffn import MoEFFN
from .routing_loss_collector import add_routing_losses, attach_moe_aux_losses

__all__ = [
    'DecoderDepthMixin', 'MoEDINO', 'MoEDeformableDETR', 'MoEDetectorMixin',
    'MoEFFN', 'WHERE_ALIASES', 'add_routing_losses', 'apply_moe_cfg',
    'attach_moe_aux_losses', 'find_ffns', 'freeze_except', 'upcycle_ffns'
]
