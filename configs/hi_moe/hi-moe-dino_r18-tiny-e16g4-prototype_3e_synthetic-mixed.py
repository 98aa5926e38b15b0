# HI-MoE as its prototype builds it (see _base_/hi-moe_e16g4-prototype.py),
# on the synthetic benchmark: 16 full-width experts + a full-width shared
# expert in every encoder and decoder FFN, the top-2 experts weighted by a
# softmax over their instance logits, no trainable routing loss. 3x the
# dense FFN's active compute (our default HI-MoE: 1x).
_base_ = [
    './hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py',
    './_base_/hi-moe_e16g4-prototype.py',
]

model = dict(moe_cfg=_base_.hi_moe_prototype_overrides)  # HI-MoE prototype
