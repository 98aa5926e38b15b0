from .hooks import MoEAuxLossHook, TextPromptLengthHook

__all__ = ['MoEAuxLossHook', 'TextPromptLengthHook']
