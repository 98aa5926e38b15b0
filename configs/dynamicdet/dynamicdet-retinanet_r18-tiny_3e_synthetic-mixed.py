# DynamicDet step 1 (joint training of both detectors) around a CPU-sized
# RetinaNet on the synthetic benchmark. The model is mmdet's RetinaNet with
# type swapped for DynamicDetector; every other deviation says why.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    './_base_/synthetic-mixed_128.py'  # instead of COCO
]
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

model = dict(
    type='DynamicDetector',  # DynamicDet: two cascaded RetinaNets + router
    detector_type='RetinaNet',  # DynamicDet: what both detectors are
    step=1,  # DynamicDet: joint training of detector 1 and 2
    threshold=0.5,  # DynamicDet: easiness below it -> detector 2 (tune later)
    backbone=dict(
        depth=18,  # tiny: R50 in the base
        base_channels=32,  # tiny: 64 in the base
        out_indices=(1, 2, 3),
        frozen_stages=-1,  # from scratch: nothing pretrained to freeze
        norm_eval=False,  # from scratch: BN statistics must adapt
        init_cfg=None),  # no model hub here: train from scratch
    neck=dict(
        in_channels=[64, 128, 256],  # R18 with base_channels=32
        out_channels=64,  # tiny: 256 in the base
        start_level=0,  # out_indices already start at stride 8
        num_outs=3),  # objects are 12-51 px: strides 8-32 suffice
    bbox_head=dict(
        num_classes={{_base_.num_classes}},
        in_channels=64,
        feat_channels=64,  # tiny: 256 in the base
        stacked_convs=2,  # tiny: 4 in the base
        anchor_generator=dict(
            octave_base_scale=2,  # anchors 16-101 px for 12-51 px objects
            strides=[8, 16, 32])))

# DynamicDet: test reports hard ratio, latency and FLOPs per path, and
# applies the threshold tools/calibrate_dynamicdet.py wrote for the checkpoint.
custom_hooks = [dict(type='DynamicDetReportHook')]

# From scratch on 2 CPU cores: AdamW converges in a few epochs where the
# base's SGD 0.01 (tuned for ImageNet-pretrained backbones) does not.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
max_epochs = 3  # fits the CPU budget (750 iterations at batch 8, ~2 s each)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[2], gamma=0.1)
]
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=max_epochs))
auto_scale_lr = dict(enable=False)
