# The official DynamicDet step-2 recipe (VDIGPKU/DynamicDet, train_step2.py
# + hyp/hyp.finetune.dynamic.adam.yaml) under names no mmdet base defines,
# so this file can sit beside a step-2 config in a `_base_` list; a preset
# then sets
#   train_dataloader = dict(batch_size=1)
#   optim_wrapper = dict(_base_.official_step2_optim_wrapper, _delete_=True)
#   param_scheduler = _base_.official_step2_param_scheduler
# (mmengine refuses the same top-level key from two bases.)
official_step2_optim_wrapper = dict(
    type='OptimWrapper',
    # DynamicDet official: batch 1 x 64 accumulated = 64 images per step
    accumulative_counts=64,
    optimizer=dict(
        type='AdamW',
        lr=1e-5,  # DynamicDet official: lr0 1e-5, constant after warm-up
        betas=(0.937, 0.999),  # DynamicDet official: beta1 = momentum
        weight_decay=0.005),  # DynamicDet official: 0.005 on weights
    paramwise_cfg=dict(bias_decay_mult=0.0))  # official: biases no decay
official_step2_param_scheduler = [
    # DynamicDet official: 1,000 warm-up iterations (images), lr from 0
    # (LinearLR needs a start > 0); the official ramp of the accumulation
    # count and of beta1 during warm-up is not reproduced
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000)
]
official_step2_max_epochs = 2  # DynamicDet official: 2 epochs
