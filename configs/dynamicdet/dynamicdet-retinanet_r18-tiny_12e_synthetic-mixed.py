# DynamicDet step 1 on the synthetic benchmark with a 12-epoch schedule: the
# 3-epoch one leaves detector 2 (twice as deep, backbone 2 behind composite
# connections, all from scratch) slightly behind detector 1.
_base_ = './dynamicdet-retinanet_r18-tiny_3e_synthetic-mixed.py'

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
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
