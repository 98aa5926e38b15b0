# Dynamic-DINO N=16, k=2 evaluated on LVIS v1 minival zero-shot
# (LVISFixedAPMetric, class prompts chunked by 40).
_base_ = './dynamic-dino_swin-t-n8k2_zeroshot_lvis-minival.py'

model = dict(moe_cfg=dict(num_copies=16))  # Dynamic-DINO: N=16 copies
