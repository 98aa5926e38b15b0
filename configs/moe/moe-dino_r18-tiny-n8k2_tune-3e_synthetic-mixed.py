# MoE-Tuning with N=8 copies x k=2 (Dynamic-DINO: more copies, better).
_base_ = './moe-dino_r18-tiny-n4k2_tune-3e_synthetic-mixed.py'

model = dict(moe_cfg=dict(num_copies=8))  # Dynamic-DINO: N=8
