# HI-MoE in the encoder as well (scene summary = mean of each image's
# unpadded encoder tokens).
_base_ = './hi-moe-dino-4scale_r50-e16g4_12e_coco.py'

model = dict(moe_cfg=dict(where=['encoder', 'decoder']))  # HI-MoE: both
