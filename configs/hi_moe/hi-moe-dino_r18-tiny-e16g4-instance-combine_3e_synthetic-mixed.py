# HI-MoE with the prototype's combination rule and nothing else of the
# prototype: the chosen experts are weighted by a softmax over their instance
# logits (weights sum to 1, the scene gate does not enter), instead of our
# instance weight x group gate. Same experts, groups, losses and active
# compute as our default, so a difference is the combination rule's.
_base_ = './hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py'

model = dict(moe_cfg=dict(router_cfg=dict(combine='instance')))  # prototype
