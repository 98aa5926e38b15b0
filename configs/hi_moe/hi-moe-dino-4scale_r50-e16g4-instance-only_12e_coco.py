# Ablation: instance-only (groups and experts both chosen per query).
_base_ = './hi-moe-dino-4scale_r50-e16g4_12e_coco.py'

model = dict(
    moe_cfg=dict(
        router_cfg=dict(group_routing='token', diversity_loss_weight=0.0))
)  # defined over images only
