# The synthetic benchmark's data settings for the DynamicDet configs, as a
# component next to mmdet's model/schedule/runtime bases: the shared
# benchmark data (configs/_base_/datasets/synthetic-mixed_128.py: 128x128
# images, no flip, the val split's difficulty in the test metainfo so the
# router can be checked against it) in mmdet's full dataloader layout.
_base_ = '../../_base_/datasets/synthetic-mixed_128.py'

data_root = _base_.synthetic_data_root
num_classes = 17  # the mixed split's categories (annotations/mixed_*.json)
img_scale = _base_.synthetic_img_scale
train_pipeline = _base_.synthetic_train_pipeline
test_pipeline = _base_.synthetic_test_pipeline
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        **_base_.synthetic_mixed_train,
        filter_cfg=dict(filter_empty_gt=True, min_size=1),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **_base_.synthetic_mixed_val, test_mode=True, pipeline=test_pipeline))
# DynamicDet: the test run reports the model's time per image (latency_ms, what
# a --target-latency means). On a CPU, loading workers would share the cores
# with the timed model: the test loads between the timed batches.
test_dataloader = dict(val_dataloader, num_workers=0, persistent_workers=False)
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/mixed_val.json',
    metric='bbox',
    format_only=False)
test_evaluator = val_evaluator
