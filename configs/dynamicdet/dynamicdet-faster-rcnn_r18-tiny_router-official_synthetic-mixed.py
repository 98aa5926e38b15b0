# DynamicDet step 2 with the official recipe (see _base_/router-official.py)
# instead of our short constant-lr pass: AdamW 1e-5, one image per
# iteration with gradients accumulated over 64 (64 images per router step),
# 2 epochs, 1,000-iteration warm-up. configs/dynamicdet/README.md has the
# table of what differs from ours.
_base_ = [
    './dynamicdet-faster-rcnn_r18-tiny_router-1e_synthetic-mixed.py',
    './_base_/router-official.py',
]

# DynamicDet official: the router reads every backbone-1 level (YOLOv7's
# include stride 2; a ResNet's are its 4 stages, strides 4-32)
model = dict(difficulty_router=dict(levels=(0, 1, 2, 3)))

train_dataloader = dict(batch_size=1)  # DynamicDet official: batch 1
optim_wrapper = dict(_base_.official_step2_optim_wrapper, _delete_=True)
param_scheduler = _base_.official_step2_param_scheduler
max_epochs = _base_.official_step2_max_epochs
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
