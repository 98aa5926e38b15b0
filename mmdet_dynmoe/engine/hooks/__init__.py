from .moe_aux_loss_hook import MoEAuxLossHook
from .text_prompt_length_hook import TextPromptLengthHook

__all__ = ['MoEAuxLossHook', 'TextPromptLengthHook']
