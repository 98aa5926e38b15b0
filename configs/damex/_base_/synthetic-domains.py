# DAMEX data layer for the synthetic benchmark: the four training domains
# (studio, street, night, paper) as four datasets of one mixture, each read
# from its own COCO file with its own, partly overlapping label set; one
# unified label space; every sample carries dataset_id / dataset_name in its
# DetDataSample.metainfo; evaluation per domain in its own label space plus
# the mean (keys `<domain>/coco/bbox_mAP`, `mean/coco/bbox_mAP`).
#
# mmengine joins configs along one `_base_` chain (two bases may not both set
# train_dataloader), so this data layer sits on the dense baseline and only
# replaces its data; a config inheriting it overrides `model` (DAMEX: the
# MoE decoder) and keeps the data. See configs/damex/README.md.
_base_ = '../../baseline/dino_r18-tiny_3e_synthetic-mixed.py'

data_root = '{{$DYNMOE_SYNTHETIC_ROOT:data/synthetic/}}'  # as the baseline's
domains = ['studio', 'street', 'night', 'paper']  # dataset_id = position
# Unified label space: None = the union of the domains' class names in
# domain order, equal names sharing one id. For these domains that is the 17
# categories of annotations/mixed_*.json in the same order. A table
# {name: id} (or a list of names) pins it instead; see the README.
label_space = None
num_classes = 17
model = dict(bbox_head=dict(
    num_classes=num_classes))  # DAMEX data: size of the unified label space


def _domain(domain, split, pipeline):
    return dict(
        type='SyntheticCocoDataset',
        data_root=data_root,
        ann_file=f'annotations/{domain}_{split}.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=pipeline)


train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    # Mixed batches (DAMEX's default): shuffle over the whole mixture.
    # - one dataset per batch: batch_sampler=dict(
    #       type='OneDatasetPerBatchSampler')
    # - dataset ratios: sampler=dict(type='DatasetRatioSampler',
    #       dataset_ratio=dict(studio=2, street=1, night=1, paper=1))
    # - fixed per-batch composition (iteration-based loops only):
    #   sampler=dict(type='MultiSourceSampler', batch_size=8,
    #       source_ratio=[1, 1, 1, 1]), batch_sampler=None
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        _delete_=True,  # DAMEX data: a mixture instead of mixed_train.json
        type='DatasetMixture',
        names=domains,
        label_space=label_space,
        datasets=[
            _domain(d, 'train', {{_base_.train_pipeline}}) for d in domains
        ]))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        _delete_=True,  # DAMEX data: a mixture instead of mixed_val.json
        type='DatasetMixture',
        names=domains,
        label_space=label_space,
        datasets=[
            _domain(d, 'val', {{_base_.test_pipeline}}) for d in domains
        ]))
test_dataloader = val_dataloader
# Each domain scored in its own label space by its own CocoMetric (its
# ann_file is taken from the dataset), plus the mean over domains.
val_evaluator = dict(
    _delete_=True,
    type='PerDatasetMetric',
    metric=dict(type='CocoMetric', metric='bbox', format_only=False))
test_evaluator = val_evaluator
