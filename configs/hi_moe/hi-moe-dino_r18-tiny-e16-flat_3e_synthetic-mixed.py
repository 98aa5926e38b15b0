# Ablation: flat token-level MoE (one softmax top-2 router over all 16
# experts per query, no groups), same experts and active parameters.
_base_ = './hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py'

model = dict(moe_cfg=dict(router_cfg=dict(_delete_=True, type='TopKRouter')))
