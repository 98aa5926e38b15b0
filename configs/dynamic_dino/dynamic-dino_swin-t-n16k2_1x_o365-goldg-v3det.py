# Dynamic-DINO MoE-Tuning with N=16 copies x k=2 (32 experts, top-2).
_base_ = './dynamic-dino_swin-t-n8k2_1x_o365-goldg-v3det.py'

model = dict(moe_cfg=dict(num_copies=16))  # Dynamic-DINO: N=16 > 8 > 4
