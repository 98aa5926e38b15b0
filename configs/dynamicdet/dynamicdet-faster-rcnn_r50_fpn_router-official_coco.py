# DynamicDet step 2 at paper scale with the official recipe (see
# _base_/router-official.py; configs/dynamicdet/README.md has the table of
# what differs from ours). Per GPU: with N GPUs set
# optim_wrapper.accumulative_counts=64 // N to keep 64 images per step.
_base_ = [
    './dynamicdet-faster-rcnn_r50_fpn_router-1e_coco.py',
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
