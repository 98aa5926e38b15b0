# The 12-epoch version of schedule_adamw-3e.py (same AdamW, 4x the epochs,
# steps at epochs 8 and 11, as mmdet's 1x), as differently named keys: a
# config that already has the 3-epoch schedule through its own base adds
# this file to its _base_ list and copies them (mmengine lets no two bases
# define the same key):
#     train_cfg = _base_.train_cfg_12e
#     param_scheduler = _base_.param_scheduler_12e
max_epochs_12e = 12
train_cfg_12e = dict(max_epochs=max_epochs_12e, val_interval=max_epochs_12e)
param_scheduler_12e = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs_12e,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
checkpoint_12e = dict(interval=max_epochs_12e)  # last only
