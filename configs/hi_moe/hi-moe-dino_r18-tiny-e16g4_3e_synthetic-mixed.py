# HI-MoE on the CPU-sized DINO of the synthetic benchmark: every decoder FFN
# becomes 16 experts in 4 groups; per image a scene router keeps 2 groups,
# per query an instance router keeps 2 experts inside them. Experts are half
# the dense FFN (granularity 2), so a token's active parameters equal the
# dense model's. Trained from scratch like the dense baseline it inherits.
_base_ = '../baseline/dino_r18-tiny_3e_synthetic-mixed.py'

model = dict(
    type='MoEDINO',  # HI-MoE: DINO + moe_cfg
    moe_cfg=dict(
        where='decoder',  # HI-MoE: object queries are the instances
        num_experts=16,  # HI-MoE prototype: 16 experts ...
        granularity=2,  # ... of half the dense FFN: top-2 = dense compute
        top_k=2,  # HI-MoE: 2 experts per query
        router_cfg=dict(
            type='HierarchicalRouter',
            num_groups=4,  # HI-MoE prototype: 4 groups of 4 experts
            top_groups=2,  # HI-MoE: 2 groups per image (scene level)
            temperature=1.0),
        balance_loss_weight=0.01,  # HI-MoE: expert-level balancing
        group_balance_loss_weight=0.01,  # HI-MoE: group-level balancing
        diversity_loss_weight=0.001,  # HI-MoE prototype: diversity 0.001
        z_loss_weight=0.0))
