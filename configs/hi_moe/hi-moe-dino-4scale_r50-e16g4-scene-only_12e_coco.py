# Ablation: scene-only (the image summary picks groups and experts for all
# of the image's queries).
_base_ = './hi-moe-dino-4scale_r50-e16g4_12e_coco.py'

model = dict(moe_cfg=dict(router_cfg=dict(expert_routing='image')))
