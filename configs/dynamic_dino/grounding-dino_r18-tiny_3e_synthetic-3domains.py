# Fine-tuning without forgetting, step 1: the dense Grounding DINO trained on
# three of the benchmark's four domains (studio, street, paper); the fourth
# (night) is the "new data" the adapt configs tune on. Each domain prompts
# with its own six names. Validation scores every split a user cares about
# after adapting: each old domain, the new one, and held-out names
# (zero-shot), keys `<split>/coco/bbox_mAP`. See the README's "Adapting a
# detector to new data".
_base_ = './grounding-dino_r18-tiny_3e_synthetic-mixed.py'

data_root = _base_.data_root
old_domains = ['studio', 'street', 'paper']  # forgetting: trained in step 1
new_domain = 'night'  # forgetting: the data the adapt configs tune on
eval_splits = [*old_domains, new_domain, 'zeroshot']


def _split(name, split, pipeline):
    """One split of the benchmark, prompted with its own class names."""
    return dict(
        type='SyntheticCocoDataset',
        data_root=data_root,
        ann_file=f'annotations/{name}_{split}.json',
        data_prefix=dict(img=''),
        return_classes=True,  # Grounding DINO: the names are the prompt
        pipeline=pipeline)


train_dataloader = dict(
    dataset=dict(
        _delete_=True,  # forgetting: the old domains instead of mixed
        type='ConcatDataset',
        datasets=[
            _split(d, 'train', {{_base_.train_pipeline}}) for d in old_domains
        ]))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,  # forgetting: every split scored on its own
        type='ConcatDataset',
        datasets=[
            _split(s, 'val', {{_base_.test_pipeline}}) for s in eval_splits
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,  # forgetting: one COCO metric per split
    type='MultiDatasetsEvaluator',
    metrics=[
        dict(
            type='CocoMetric',
            ann_file=f'{data_root}annotations/{s}_val.json',
            metric='bbox') for s in eval_splits
    ],
    dataset_prefixes=eval_splits)
test_evaluator = val_evaluator
