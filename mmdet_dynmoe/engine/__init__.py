"""Runtime pieces shared by the methods and the tools.

hooks/ (hooks that are no single method's: :class:`MoEAuxLossHook`) |
model_loading.py (unwrap a wrapped model; build a model from config +
checkpoint) | timing.py (CUDA sync before reading a timer) |
routing_stats_run.py (a config's val set with routing statistics on, for
the analysis tools) | speed_knobs.py (the test-time speed knobs a model has,
setting them, the ``<ckpt>.speed.json`` file; :class:`SpeedKnobsHook`
applies it) | speed_measurement.py (AP, latency and FLOPs per image at a
knob setting, for the sweep and calibration tools) | checkpoint_runs.py (an
analysis tool over several checkpoints, one folder each).
"""
from .checkpoint_runs import (over_checkpoints, run_names, runs_legend,
                              write_seeds_summary)
from .hooks import (MoEAuxLossHook, NumClassesCheckHook, RNGStateHook,
                    SpeedKnobsHook, TrainingDataCheckHook)
from .model_loading import LoadedModel, load_model, unwrap_model
from .routing_stats_run import val_with_routing_stats
from .timing import synchronize

__all__ = [
    'LoadedModel', 'MoEAuxLossHook', 'NumClassesCheckHook', 'RNGStateHook',
    'SpeedKnobsHook', 'TrainingDataCheckHook', 'load_model',
    'over_checkpoints', 'run_names', 'runs_legend', 'synchronize',
    'write_seeds_summary', 'unwrap_model', 'val_with_routing_stats'
]
