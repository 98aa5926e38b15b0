# The dense baseline with its decoder FFNs upcycled into fine-grained experts
# (the MoE engine's reference config; Dynamic-DINO's recipe on plain DINO).
# Train from scratch, or start exactly at the dense model with
#   --cfg-options load_from=work_dirs/dino_r18-tiny_3e_synthetic-mixed/epoch_3.pth
# (MoEFFN upcycles the dense FFN weights while loading).
_base_ = '../baseline/dino_r18-tiny_3e_synthetic-mixed.py'

model = dict(
    type='MoEDINO',  # MoE: DINO + moe_cfg (mmdet's DINO builds FFNs itself)
    moe_cfg=dict(
        where='decoder',  # MoE: every decoder layer's FFN
        num_copies=4,  # MoE: N copies of the dense FFN ...
        granularity=2,  # MoE: ... each split in k=2 slices; top-k = k
        balance_loss_weight=0.01,  # Dynamic-DINO's load-balancing weight
        z_loss_weight=0.001))  # ST-MoE's router z-loss weight
