# HI-MoE at paper scale: DINO-4scale R50 on COCO with every decoder FFN turned
# into 16 experts (4 groups) of half the dense FFN; a scene router keeps 2
# groups per image, an instance router 2 experts per query (equal active
# parameters to the dense DINO). Trained from the usual ImageNet backbone.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

model = dict(
    type='MoEDINO',  # HI-MoE: DINO + moe_cfg
    moe_cfg=dict(
        where='decoder',  # HI-MoE: object queries are the instances
        num_experts=16,  # HI-MoE prototype: 16 experts ...
        granularity=2,  # ... of 1024 channels: top-2 = the dense 2048
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
