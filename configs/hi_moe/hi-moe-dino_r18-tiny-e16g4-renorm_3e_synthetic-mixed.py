# HI-MoE with the combined weights (instance weight x group gate)
# renormalised to sum to 1 per query, as flat top-k's do; the product alone
# sums to the chosen groups' gate mass (~0.5 with 2 balanced groups).
_base_ = './hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py'

model = dict(moe_cfg=dict(router_cfg=dict(renormalize_combined=True)))
