from .moe_aux_loss_hook import MoEAuxLossHook

__all__ = ['MoEAuxLossHook']
