# DAMEX's non-DAMEX baseline: plain MoE with load balancing on the four-domain
# mixture. As the official DAMEX code, MoE replaces the FFN of every other
# decoder layer (0, 2, 4 of 6 there; 0 and 2 of this 3-layer decoder), top-1
# routing, capacity factor 1.25, gate noise in training; 4 experts of the
# dense FFN's size, so a token's active parameters equal the dense model's.
_base_ = './dino_r18-tiny_3e_synthetic-domains.py'

model = dict(
    type='MoEDINO',
    moe_cfg=dict(
        where=['decoder.layers.0.ffn', 'decoder.layers.2.ffn'],  # DAMEX
        num_experts=4,  # one per synthetic domain (UODB: 8)
        top_k=1,  # DAMEX: top-1 routing
        capacity_factor=1.25,  # DAMEX: capacity 1.25 (counted drops)
        router_cfg=dict(
            type='TopKRouter',
            normalize=False,  # top-1 weight = router probability (Switch)
            noise_std=1.0),  # DAMEX: gate noise in training
        balance_loss_weight=0.1,  # DAMEX's MoE baseline: balancing, 0.1
        z_loss_weight=0.0))
