# DynamicDet step 1 on the synthetic benchmark with a 12-epoch schedule: the
# 3-epoch one leaves detector 2 (twice as deep, backbone 2 behind composite
# connections, all from scratch) slightly behind detector 1.
_base_ = [
    './dynamicdet-retinanet_r18-tiny_3e_synthetic-mixed.py',
    '../_base_/schedules/adamw-12e_keys.py'
]

max_epochs = _base_.max_epochs_12e
train_cfg = _base_.train_cfg_12e
param_scheduler = _base_.param_scheduler_12e
default_hooks = dict(checkpoint=_base_.checkpoint_12e)
