# Dense baseline for the built-in synthetic benchmark: a CPU-sized DINO.
# Every deviation from the mmdet base says why; the model keeps type='DINO'.
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    '../_base_/models/r18-tiny_backbone.py',  # tiny: R18 from scratch
    '../_base_/datasets/synthetic-mixed_128.py',  # instead of COCO
    '../_base_/run-checks.py',  # resume RNG, class count and data checks
]
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

data_root = _base_.synthetic_data_root
ffn_channels = 1024  # tiny: 2048 in the base
num_classes = 17  # the mixed split's categories (annotations/mixed_*.json)

model = dict(
    num_queries=100,  # tiny: <= 10 objects per 128x128 image (900 in base)
    backbone=_base_.r18_tiny_backbone,
    neck=dict(in_channels=_base_.r18_tiny_neck_in_channels),
    encoder=dict(
        num_layers=2,  # tiny: 6 in the base
        layer_cfg=dict(ffn_cfg=dict(feedforward_channels=ffn_channels))),
    decoder=dict(
        num_layers=3,  # tiny: 6 in the base
        layer_cfg=dict(ffn_cfg=dict(feedforward_channels=ffn_channels))),
    bbox_head=dict(num_classes=num_classes),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=50)),  # tiny: 100 in the base
    test_cfg=dict(max_per_img=100))

# 128x128 images, no flip (see configs/_base_/datasets/synthetic-mixed_128.py)
img_scale = _base_.synthetic_img_scale
train_pipeline = _base_.synthetic_train_pipeline
test_pipeline = _base_.synthetic_test_pipeline
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(**_base_.synthetic_mixed_train, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(**_base_.synthetic_mixed_val, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/mixed_val.json')
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(lr=4e-4),  # from scratch, small batch: 1e-4 in the base
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0)}))  # scratch
# 3 epochs (750 iterations) fit the demo's ~15 minute budget on 2 CPU cores.
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[2],
        gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_epochs),
    num_classes_check=_base_.num_classes_check,
    speed_knobs=_base_.speed_knobs_hook,  # calibrated test-time knobs
    **_base_.run_checks)  # configs/_base_/run-checks.py
auto_scale_lr = dict(enable=False)
