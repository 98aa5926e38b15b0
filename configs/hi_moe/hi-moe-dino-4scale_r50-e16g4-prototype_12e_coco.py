# HI-MoE as its prototype builds it (see _base_/hi-moe_e16g4-prototype.py)
# on COCO: 16 full-width experts + a full-width shared expert in every
# encoder and decoder FFN, softmax over the top-2 instance logits, no
# trainable routing loss. 3x the dense FFN's active compute.
_base_ = [
    './hi-moe-dino-4scale_r50-e16g4_12e_coco.py',
    './_base_/hi-moe_e16g4-prototype.py',
]

model = dict(moe_cfg=_base_.hi_moe_prototype_overrides)  # HI-MoE prototype
