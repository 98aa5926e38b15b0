# Dynamic-DINO N=16, k=2 evaluated on ODinW-13 zero-shot (AP per dataset
# and their mean).
_base_ = './dynamic-dino_swin-t-n8k2_zeroshot_odinw13.py'

model = dict(moe_cfg=dict(num_copies=16))  # Dynamic-DINO: N=16 copies
