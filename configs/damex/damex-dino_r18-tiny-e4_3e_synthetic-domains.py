# DAMEX on the four synthetic domains: the MoE baseline's layers, with each
# domain's tokens taught to go to its own expert instead of load balancing.
# At test time the router decides alone (no dataset id is read).
_base_ = './moe-dino_r18-tiny-e4_3e_synthetic-domains.py'

model = dict(
    type='DAMEXDINO',
    dataset_experts=dict(studio=0, street=1, night=2, paper=3),  # DAMEX
    # DAMEX: cross-entropy to the dataset's expert, 0.1 x mean over layers
    routing_loss_weight=0.1,
    routing_loss_reduction='mean',
    moe_cfg=dict(
        balance_loss_weight=0.0))  # DAMEX: the routing loss *instead of* it
custom_hooks = [dict(type='DatasetExpertsHook')]  # mapping vs datasets
