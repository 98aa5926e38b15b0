# MoE-Tuning (Dynamic-DINO's step 2) on plain DINO: the converged dense model
# with every decoder FFN upcycled into N=4 copies x k=2 fine-grained experts
# (top-2: the dense FFN's active compute). Loading the dense checkpoint
# upcycles the weights, so tuning starts exactly at the dense model.
_base_ = './dino_r18-tiny_tune-3e-split_synthetic-mixed.py'

model = dict(
    moe_cfg=dict(
        where='decoder',  # Dynamic-DINO: MoE in every decoder layer
        num_copies=4,  # Dynamic-DINO: N copies of the dense FFN ...
        granularity=2,  # ... each split in k=2 slices; top-k = k
        balance_loss_weight=0.01,  # Dynamic-DINO: 0.01 x load balancing
        z_loss_weight=0.0),  # Dynamic-DINO: no z-loss in the paper
    trainable=['moe', 'bbox_head.*'])  # Dynamic-DINO: MoE layers and head
