# Adapting a released Grounding DINO to your own data with MoE-Tuning
# (Dynamic-DINO's step 2 as the fine-tuning recipe; see the README's
# "Adapting a detector to new data"). It is mmdet's own fine-tuning example
# (MM-Grounding-DINO Swin-T on the one-class `cat` dataset, data/cat/ in COCO
# format) with the model swapped: the decoder FFNs are upcycled on load to
# N=8 copies x k=2 experts, so tuning starts exactly at the released model,
# and only the MoE layers, the cross-modality fusion and the head train. For
# your data change data_root, classes and the annotation files as in mmdet's
# example; `mim test` then scores the new data and COCO val2017 (what the
# released model knew) side by side.
_base_ = [
    'mmdet::mm_grounding_dino/grounding_dino_swin-t_finetune_8xb4_20e_cat.py',
    './_base_/dynamic-dino_moe-n8k2.py',
]

model = dict(
    type='MoEGroundingDINO',  # Dynamic-DINO: Grounding DINO + moe_cfg
    moe_cfg=_base_.dynamic_dino_moe_cfg,
    trainable=_base_.dynamic_dino_trainable,
    backbone=dict(
        init_cfg=None,  # adapt: all weights come from load_from
        with_cp=False))  # frozen backbone: nothing kept for backward

# Adapt: test = the new data and COCO val2017 zero-shot, one metric each
# (keys cat/coco/bbox_mAP, coco_val2017/coco/bbox_mAP), to see what tuning
# keeps; validation during training stays on the new data only.
coco_val2017 = dict(
    type='CocoDataset',
    data_root='data/coco/',
    ann_file='annotations/instances_val2017.json',
    data_prefix=dict(img='val2017/'),
    test_mode=True,
    return_classes=True,
    pipeline=_base_.test_pipeline)
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[_base_.val_dataloader.dataset, coco_val2017]))
test_evaluator = dict(
    _delete_=True,
    type='MultiDatasetsEvaluator',
    metrics=[
        _base_.val_evaluator,
        dict(
            type='CocoMetric',
            ann_file='data/coco/annotations/instances_val2017.json',
            metric='bbox')
    ],
    dataset_prefixes=['cat', 'coco_val2017'])
