# Ablation: instance-only. Groups and experts are both chosen per query (two
# levels, no image context); the scene distribution is not shared.
_base_ = './hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py'

model = dict(
    moe_cfg=dict(
        router_cfg=dict(group_routing='token', diversity_loss_weight=0.0))
)  # defined over images only
