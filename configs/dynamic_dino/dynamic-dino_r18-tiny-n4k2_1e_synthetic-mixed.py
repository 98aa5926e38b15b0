# Dynamic-DINO step 2: MoE-Tuning of the dense Grounding DINO of step 1.
# Each decoder FFN becomes N=4 copies x k=2 fine-grained experts (top-2, the
# dense FFN's active compute); loading the dense checkpoint upcycles the
# weights, so tuning starts exactly at the dense model. Only the MoE layers,
# the feature enhancer's cross-modality fusion and the head are trained.
_base_ = './grounding-dino_r18-tiny_3e_synthetic-mixed.py'

# Dynamic-DINO: start from the dense model (its FFNs are upcycled on load).
load_from = 'work_dirs/grounding-dino_r18-tiny_3e_synthetic-mixed/epoch_3.pth'

model = dict(
    type='MoEGroundingDINO',  # Dynamic-DINO: Grounding DINO + moe_cfg
    moe_cfg=dict(
        where='decoder',  # Dynamic-DINO: MoE in every decoder layer
        num_copies=4,  # Dynamic-DINO: N copies (paper: 4/8/16, more better)
        granularity=2,  # Dynamic-DINO: k=2 slices each, top-k = k (best)
        balance_loss_weight=0.01,  # Dynamic-DINO: 0.01 x load balancing
        z_loss_weight=0.0),  # Dynamic-DINO: no z-loss in the paper
    # Dynamic-DINO: tune MoE layers, cross-modality fusion and head only.
    trainable=['moe', 'encoder.fusion_layers.*', 'bbox_head.*'],
    backbone=dict(norm_eval=True))  # frozen backbone: freeze BN statistics too

optim_wrapper = dict(optimizer=dict(lr=1e-4))  # tuning: half the pretrain lr
max_epochs = 1  # the extra schedule (250 iterations) on top of step 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = []  # constant lr for the short tuning schedule
default_hooks = dict(checkpoint=dict(interval=max_epochs))
