# Dynamic-DINO step 1: the dense Grounding DINO that MoE-Tuning starts from,
# CPU-sized, trained on the synthetic benchmark with category phrases as text
# prompts ("red circle. blue square. ..."). Every deviation from the mmdet
# base says why; the model keeps type='GroundingDINO'.
_base_ = [
    'mmdet::grounding_dino/grounding_dino_r50_scratch_8xb2_1x_coco.py',
    '../_base_/models/r18-tiny_backbone.py',  # tiny: R18 from scratch
    '../_base_/datasets/synthetic-mixed_128.py',  # instead of COCO
    '../_base_/run-checks.py',  # resume RNG and data checks
]
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

load_from = None  # no model hub here: everything trains from scratch
data_root = _base_.synthetic_data_root
ffn_channels = 1024  # tiny: 2048 in the base

model = dict(
    num_queries=100,  # tiny: <= 10 objects per 128x128 image (900 in base)
    language_model=dict(
        # offline BERT-architecture MiniLM-L6 (hidden 384) instead of
        # bert-base-uncased: no model hub on our machines
        name=__import__('mmdet_dynmoe').minilm_path()),
    backbone=_base_.r18_tiny_backbone,
    neck=dict(in_channels=_base_.r18_tiny_neck_in_channels),
    encoder=dict(
        num_layers=2,  # tiny: 6 in the base
        num_cp=0,  # activation checkpointing needs fairscale; tiny anyway
        layer_cfg=dict(ffn_cfg=dict(feedforward_channels=ffn_channels)),
        text_layer_cfg=dict(ffn_cfg=dict(feedforward_channels=512)),  # tiny
        fusion_layer_cfg=dict(embed_dim=512)),  # tiny: 1024 in the base
    decoder=dict(
        num_layers=3,  # tiny: 6 in the base
        layer_cfg=dict(ffn_cfg=dict(feedforward_channels=ffn_channels))),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=50)),  # tiny: 100 in the base
    test_cfg=dict(max_per_img=100))

# 128x128 images: one fixed scale instead of the base's 480-800 multi-scale
# with crops, and no flipping (it would mirror letters and arrows); the
# benchmark's pipelines (configs/_base_/datasets/) plus the text keys.
img_scale = _base_.synthetic_img_scale
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'text', 'custom_entities'))
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'text', 'custom_entities', 'domain',
                   'difficulty', 'hard'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    # SyntheticCocoDataset: the classes (= text prompts) come from the file
    dataset=dict(**_base_.synthetic_mixed_train, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(**_base_.synthetic_mixed_val, pipeline=test_pipeline))
val_evaluator = dict(ann_file=data_root + 'annotations/mixed_val.json')
# Zero-shot: categories never seen in training (colour/shape pairs that are
# new), prompted by name; `mim test` this config for the zero-shot AP.
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        type='SyntheticCocoDataset',
        data_root=data_root,
        ann_file='annotations/zeroshot_val.json',
        data_prefix=dict(img=''),
        pipeline=test_pipeline,
        return_classes=True))
test_evaluator = dict(ann_file=data_root + 'annotations/zeroshot_val.json')

optim_wrapper = dict(
    optimizer=dict(lr=2e-4),  # from scratch, small batch: 1e-4 in the base
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=1.0),  # from scratch: 0.1 in the base
            'language_model': dict(lr_mult=0.0)  # keep the pretrained MiniLM
        }))
max_epochs = 3  # 750 iterations: ~30 min on 2 CPU cores
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
    speed_knobs=_base_.speed_knobs_hook,  # calibrated test-time knobs
    **_base_.run_checks)  # configs/_base_/run-checks.py
auto_scale_lr = dict(enable=False)
# Refuse prompts the text encoder would silently truncate (all class names
# are joined into one prompt).
custom_hooks = [dict(type='TextPromptLengthHook')]
