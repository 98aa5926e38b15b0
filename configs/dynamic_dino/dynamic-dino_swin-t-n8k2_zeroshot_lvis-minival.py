# Dynamic-DINO N=8, k=2 evaluated on LVIS v1 minival zero-shot
# (LVISFixedAPMetric, class prompts chunked by 40).
# Data, prompts and metric are mmdet's own MM-Grounding-DINO evaluation config;
# only the model changes. Run with the MoE-Tuning checkpoint:
#   mim test mmdet_dynmoe \
#       configs/dynamic_dino/dynamic-dino_swin-t-n8k2_zeroshot_lvis-minival.py \
#       --checkpoint work_dirs/dynamic-dino_swin-t-n8k2_1x_o365-goldg-v3det/epoch_12.pth
_base_ = [
    'mmdet::mm_grounding_dino/lvis/grounding_dino_swin-t_pretrain_zeroshot_mini-lvis.py',  # noqa
    './_base_/dynamic-dino_moe-n8k2.py',
]

model = dict(
    type='MoEGroundingDINO',  # Dynamic-DINO: Grounding DINO + moe_cfg
    moe_cfg=_base_.dynamic_dino_moe_cfg,
    trainable=_base_.dynamic_dino_trainable)
