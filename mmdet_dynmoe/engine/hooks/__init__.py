from .moe_aux_loss_hook import MoEAuxLossHook
from .num_classes_check_hook import NumClassesCheckHook

__all__ = ['MoEAuxLossHook', 'NumClassesCheckHook']
