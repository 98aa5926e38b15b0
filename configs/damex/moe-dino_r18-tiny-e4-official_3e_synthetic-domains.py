# The official DAMEX code's plain-MoE baseline (its model with damex=False)
# on the four synthetic domains: the official MoE block (see
# _base_/official-moe-block.py) trained with tutel's importance + load loss
# on the queries the last decoder layer matches, 0.1 x mean over the MoE
# layers, instead of our Switch balancing loss on every query.
_base_ = [
    './moe-dino_r18-tiny-e4_3e_synthetic-domains.py',
    './_base_/official-moe-block.py',
]

model = dict(
    type='DAMEXDINO',  # DAMEX official: one model, the baseline's loss
    routing_loss='importance_load',  # DAMEX official: tutel's loss ...
    routing_loss_tokens='foreground',  # ... on the matched queries ...
    routing_loss_weight=0.1,  # ... 0.1 ...
    routing_loss_reduction='mean',  # ... x mean over the MoE layers
    bbox_head=dict(type='DAMEXDINOHead'),  # records the matching it reads
    moe_cfg=dict(
        _base_.damex_official_moe_block,
        router_cfg=dict(
            noise_in_loss=False,  # DAMEX official: noise chooses only
            noise_std=1.0 / 4),  # DAMEX official: gate_noise 1.0 / E = 4
        balance_loss_weight=0.0))  # DAMEX official: not the Switch loss
