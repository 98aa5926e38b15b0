# Ablation: flat token-level MoE over the same 16 experts (top-2, no groups).
_base_ = './hi-moe-dino-4scale_r50-e16g4_12e_coco.py'

model = dict(moe_cfg=dict(router_cfg=dict(_delete_=True, type='TopKRouter')))
