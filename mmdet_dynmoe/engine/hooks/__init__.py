from .moe_aux_loss_hook import MoEAuxLossHook
from .num_classes_check_hook import NumClassesCheckHook
from .rng_state_hook import RNGStateHook
from .speed_knobs_hook import SpeedKnobsHook
from .training_data_check_hook import TrainingDataCheckHook

__all__ = [
    'MoEAuxLossHook', 'NumClassesCheckHook', 'RNGStateHook', 'SpeedKnobsHook',
    'TrainingDataCheckHook'
]
