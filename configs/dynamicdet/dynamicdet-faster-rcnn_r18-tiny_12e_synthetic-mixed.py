# DynamicDet step 1 on the synthetic benchmark with a 12-epoch schedule: at 3
# epochs detector 2 (twice as deep, backbone 2 behind composite connections,
# all from scratch) is only about 1 AP above detector 1; the evidence issue
# asks for a regime where it is clearly stronger.
_base_ = [
    './dynamicdet-faster-rcnn_r18-tiny_3e_synthetic-mixed.py',
    '../_base_/schedules/adamw-12e_keys.py'
]

max_epochs = _base_.max_epochs_12e
train_cfg = dict(
    _base_.train_cfg_12e,
    val_interval=4)  # DynamicDet: detector 1 and 2 at epochs 4, 8, 12
param_scheduler = _base_.param_scheduler_12e
default_hooks = dict(checkpoint=_base_.checkpoint_12e)
