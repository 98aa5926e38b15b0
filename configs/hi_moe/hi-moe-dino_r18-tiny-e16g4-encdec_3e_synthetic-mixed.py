# HI-MoE in the encoder as well: each image's scene router reads the mean of
# its (unpadded) encoder tokens.
_base_ = './hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py'

model = dict(moe_cfg=dict(where=['encoder', 'decoder']))  # HI-MoE: both
