# Dense baseline for the built-in synthetic benchmark: a CPU-sized DINO.
# Every deviation from the mmdet base says why; the model keeps type='DINO'.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

data_root = 'data/synthetic/'
ffn_channels = 1024  # tiny: 2048 in the base
num_classes = 17  # the mixed split's categories (annotations/mixed_*.json)

model = dict(
    num_queries=100,  # tiny: <= 10 objects per 128x128 image (900 in base)
    backbone=dict(
        depth=18,  # tiny: R50 in the base
        base_channels=32,  # tiny: 64 in the base
        out_indices=(1, 2, 3),
        frozen_stages=-1,  # from scratch: nothing pretrained to freeze
        norm_cfg=dict(type='BN', requires_grad=True),  # from scratch
        norm_eval=False,  # from scratch: BN statistics must adapt
        init_cfg=None),  # no model hub here: train the backbone from scratch
    neck=dict(in_channels=[64, 128, 256]),  # R18 with base_channels=32
    encoder=dict(
        num_layers=2,  # tiny: 6 in the base
        layer_cfg=dict(
            ffn_cfg=dict(feedforward_channels=ffn_channels))),
    decoder=dict(
        num_layers=3,  # tiny: 6 in the base
        layer_cfg=dict(
            ffn_cfg=dict(feedforward_channels=ffn_channels))),
    bbox_head=dict(num_classes=num_classes),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=50)),  # tiny: 100 in the base
    test_cfg=dict(max_per_img=100))

# The benchmark's images are 128x128: a fixed small scale instead of the
# base's multi-scale 800-1333 augmentation, and no flipping (it would mirror
# letters and arrows, which changes what they are).
img_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'domain', 'difficulty', 'hard'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        type='SyntheticCocoDataset',
        data_root=data_root,
        ann_file='annotations/mixed_train.json',
        data_prefix=dict(img=''),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        type='SyntheticCocoDataset',
        data_root=data_root,
        ann_file='annotations/mixed_val.json',
        data_prefix=dict(img=''),
        pipeline=test_pipeline))
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
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[2], gamma=0.1)
]
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=max_epochs))
auto_scale_lr = dict(enable=False)
