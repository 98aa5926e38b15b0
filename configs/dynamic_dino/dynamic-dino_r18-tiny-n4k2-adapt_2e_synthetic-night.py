# Adapting to new data, arm (c), Dynamic-DINO's MoE-Tuning as the adapt
# recipe: the trained dense model's decoder FFNs are upcycled on load into
# N=4 copies x k=2 experts (top-2: the dense compute), so tuning starts
# exactly at the dense model; only the MoE layers, the fusion and the head
# train. The question it answers: does it keep what fine-tuning forgets?
_base_ = './grounding-dino_r18-tiny-adapt-split_2e_synthetic-night.py'

model = dict(
    moe_cfg=dict(
        where='decoder',  # Dynamic-DINO: MoE in every decoder layer
        num_copies=4,  # Dynamic-DINO: N copies (paper: 4/8/16)
        granularity=2,  # Dynamic-DINO: k=2 slices each, top-k = k
        balance_loss_weight=0.01,  # Dynamic-DINO: 0.01 x load balancing
        z_loss_weight=0.0),  # Dynamic-DINO: no z-loss in the paper
    trainable=['moe', 'encoder.fusion_layers.*',
               'bbox_head.*'])  # Dynamic-DINO: MoE layers, fusion, head
