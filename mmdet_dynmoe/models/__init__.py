from .layers import MoEFFN, find_ffns, upcycle_ffns
from .moe_aux_losses import attach_moe_aux_losses

__all__ = ['MoEFFN', 'attach_moe_aux_losses', 'find_ffns', 'upcycle_ffns']
