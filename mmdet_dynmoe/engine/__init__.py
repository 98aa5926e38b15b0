from .hooks import MoEAuxLossHook

__all__ = ['MoEAuxLossHook']
