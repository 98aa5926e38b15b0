from .detectors import MoEDeformableDETR, MoEDINO, MoEGroundingDINO
from .layers import MoEFFN, apply_moe_cfg, find_ffns, upcycle_ffns
from .moe_aux_losses import attach_moe_aux_losses

__all__ = [
    'MoEDINO', 'MoEDeformableDETR', 'MoEFFN', 'MoEGroundingDINO',
    'apply_moe_cfg', 'attach_moe_aux_losses', 'find_ffns', 'upcycle_ffns'
]
