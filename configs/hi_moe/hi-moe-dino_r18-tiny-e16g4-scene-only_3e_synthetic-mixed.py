# Ablation: scene-only. The image summary picks the groups and the 2 experts;
# every query of the image uses the same experts.
_base_ = './hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py'

model = dict(moe_cfg=dict(router_cfg=dict(expert_routing='image')))
