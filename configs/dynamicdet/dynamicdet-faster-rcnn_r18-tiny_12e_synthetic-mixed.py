# DynamicDet step 1 on the synthetic benchmark with a 12-epoch schedule: at 3
# epochs detector 2 (twice as deep, backbone 2 behind composite connections,
# all from scratch) is only about 1 AP above detector 1; the evidence issue
# asks for a regime where it is clearly stronger.
_base_ = './dynamicdet-faster-rcnn_r18-tiny_3e_synthetic-mixed.py'

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=4)  # d1/d2 curve
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
