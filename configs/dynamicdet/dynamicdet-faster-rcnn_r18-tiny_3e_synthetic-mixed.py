# DynamicDet step 1 (joint training of both detectors) around a CPU-sized
# two-stage Faster R-CNN on the synthetic benchmark. The model is mmdet's
# Faster R-CNN with type swapped for DynamicDetector; every other deviation
# says why.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/schedules/schedule_adamw-3e.py',  # instead of SGD 1x
    'mmdet::_base_/default_runtime.py',
    './_base_/synthetic-mixed_128.py',  # instead of COCO
    '../_base_/models/r18-tiny_backbone.py',  # tiny: R18 from scratch
    '../_base_/run-checks.py',  # resume RNG, class count and data checks
]
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

model = dict(
    type='DynamicDetector',  # DynamicDet: two cascaded Faster R-CNNs + router
    detector_type='FasterRCNN',  # DynamicDet: what both detectors are
    step=1,  # DynamicDet: joint training of detector 1 and 2
    threshold=0.5,  # DynamicDet: easiness below it -> detector 2 (tune later)
    backbone=dict(_base_.r18_tiny_backbone,
                  out_indices=(0, 1, 2,
                               3)),  # the base's: all 4 stages, strides 4-32
    neck=dict(
        in_channels=[32, 64, 128, 256],  # R18 with base_channels=32
        out_channels=64,  # tiny: 256 in the base
        num_outs=4),  # objects are 12-51 px: strides 4-32 suffice
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,  # tiny: 256 in the base
        anchor_generator=dict(
            scales=[4],  # anchors 16-128 px for 12-51 px objects (32-512)
            strides=[4, 8, 16, 32])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(
            in_channels=64,
            fc_out_channels=256,  # tiny: 1024 in the base
            num_classes={{_base_.num_classes}})),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),  # <= 10 objects
        rcnn=dict(sampler=dict(num=128))),  # tiny: 512 RoIs per image
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))  # <= 10 objects

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
