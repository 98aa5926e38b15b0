"""Runtime pieces shared by the methods and the tools.

hooks/ (hooks that are no single method's: :class:`MoEAuxLossHook`) |
model_loading.py (unwrap a wrapped model; build a model from config +
checkpoint) | timing.py (CUDA sync before reading a timer) |
routing_stats_run.py (a config's val set with routing statistics on, for
the analysis tools).
"""
from .hooks import (MoEAuxLossHook, NumClassesCheckHook, RNGStateHook,
                    TrainingDataCheckHook)
from .model_loading import LoadedModel, load_model, unwrap_model
from .routing_stats_run import val_with_routing_stats
from .timing import synchronize

__all__ = [
    'LoadedModel', 'MoEAuxLossHook', 'NumClassesCheckHook', 'RNGStateHook',
    'TrainingDataCheckHook', 'load_model', 'synchronize', 'unwrap_model',
    'val_with_routing_stats'
]
