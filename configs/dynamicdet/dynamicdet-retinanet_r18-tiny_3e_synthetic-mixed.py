# DynamicDet step 1 (joint training of both detectors) around a CPU-sized
# RetinaNet on the synthetic benchmark. The model is mmdet's RetinaNet with
# type swapped for DynamicDetector; every other deviation says why.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../_base_/schedules/schedule_adamw-3e.py',  # instead of SGD 1x
    'mmdet::_base_/default_runtime.py',
    './_base_/synthetic-mixed_128.py',  # instead of COCO
    '../_base_/models/r18-tiny_backbone.py',  # tiny: R18 from scratch
    '../_base_/run-checks.py',  # resume RNG, class count and data checks
]
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

model = dict(
    type='DynamicDetector',  # DynamicDet: two cascaded RetinaNets + router
    detector_type='RetinaNet',  # DynamicDet: what both detectors are
    step=1,  # DynamicDet: joint training of detector 1 and 2
    threshold=0.5,  # DynamicDet: easiness below it -> detector 2 (tune later)
    backbone=_base_.r18_tiny_backbone,
    neck=dict(
        in_channels=_base_.r18_tiny_neck_in_channels,
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

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=_base_.max_epochs),  # last only
    num_classes_check=_base_.num_classes_check,
    speed_knobs=_base_.speed_knobs_hook,  # calibrated test-time knobs
    **_base_.run_checks)  # configs/_base_/run-checks.py

# DynamicDet: step 1's router is untrained, so validation scores each
# detector alone (d1/..., d2/... and d2-d1/... metrics).
val_cfg = dict(type='StaticPathsValLoop')
