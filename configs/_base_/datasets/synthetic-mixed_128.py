# The built-in synthetic benchmark's mixed split (data/synthetic/,
# annotations/mixed_*.json) as the CPU-sized configs read it. Its images are
# 128x128: one fixed small scale instead of mmdet's multi-scale 800-1333
# augmentation, and no flipping (it would mirror letters and arrows, which
# changes what they are). The test metainfo carries each val image's domain,
# difficulty and hard flag, so routers can be checked against them.
#
# This file only adds names no mmdet base defines (prefix `synthetic_`), so
# it can sit beside a full mmdet config (DINO, Grounding DINO) in a `_base_`
# list; a config then sets
#   train_pipeline = _base_.synthetic_train_pipeline
#   train_dataloader = dict(dataset=dict(**_base_.synthetic_mixed_train,
#                                        pipeline=train_pipeline))
# DYNMOE_SYNTHETIC_ROOT=data/synthetic-seed1/ (an environment variable) reads
# another draw of the generator instead (tools/seed_matrix.py --data-seeds)
synthetic_data_root = '{{$DYNMOE_SYNTHETIC_ROOT:data/synthetic/}}'
synthetic_img_scale = (128, 128)
synthetic_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=synthetic_img_scale, keep_ratio=True),
    dict(type='PackDetInputs')
]
synthetic_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=synthetic_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'domain', 'difficulty', 'hard'))
]
# The mixed split's two datasets; each config adds its pipeline.
synthetic_mixed_train = dict(
    type='SyntheticCocoDataset',
    data_root=synthetic_data_root,
    ann_file='annotations/mixed_train.json',
    data_prefix=dict(img=''))
synthetic_mixed_val = dict(
    type='SyntheticCocoDataset',
    data_root=synthetic_data_root,
    ann_file='annotations/mixed_val.json',
    data_prefix=dict(img=''))
