# HI-MoE's MoE settings, shared by the CPU and the paper-scale configs. This
# file only adds a name no mmdet base defines, so it can sit beside any DINO
# config in a `_base_` list; each config then sets
#   model = dict(type='MoEDINO', moe_cfg=_base_.hi_moe_cfg)
# Experts are half the dense FFN (granularity 2): top-2 = the dense FFN's
# active compute.
hi_moe_cfg = dict(
    where='decoder',  # HI-MoE: object queries are the instances
    num_experts=16,  # HI-MoE prototype: 16 experts ...
    granularity=2,  # ... of half the dense FFN: top-2 = dense compute
    top_k=2,  # HI-MoE: 2 experts per query
    router_cfg=dict(
        type='HierarchicalRouter',
        num_groups=4,  # HI-MoE prototype: 4 groups of 4 experts
        top_groups=2,  # HI-MoE: 2 groups per image (scene level)
        temperature=1.0,
        group_balance_loss_weight=0.01,  # HI-MoE: group-level balancing
        diversity_loss_weight=0.001),  # HI-MoE prototype: diversity 0.001
    balance_loss_weight=0.01,  # HI-MoE: expert-level balancing
    z_loss_weight=0.0)  # HI-MoE: no router z-loss
