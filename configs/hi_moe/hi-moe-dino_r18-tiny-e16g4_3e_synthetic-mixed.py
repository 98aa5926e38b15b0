# HI-MoE on the CPU-sized DINO of the synthetic benchmark: every decoder FFN
# becomes 16 experts in 4 groups; per image a scene router keeps 2 groups,
# per query an instance router keeps 2 experts inside them. Experts are half
# the dense FFN (granularity 2), so a token's active parameters equal the
# dense model's. Trained from scratch like the dense baseline it inherits.
_base_ = [
    '../baseline/dino_r18-tiny_3e_synthetic-mixed.py',
    './_base_/hi-moe_e16g4.py',
]

model = dict(
    type='MoEDINO',  # HI-MoE: DINO + moe_cfg
    moe_cfg=_base_.hi_moe_cfg)
