# MoE-Tuning study, control 2: the dense model tuned with MoE-Tuning's
# frozen/trainable split (decoder FFNs where the MoE layers would be, and
# the head), so MoE-Tuning is compared at equal trainable structure.
_base_ = './dino_r18-tiny_tune-3e-full_synthetic-mixed.py'

model = dict(
    type='MoEDINO',  # control: moe_cfg=None keeps it the stock dense DINO
    trainable=['decoder.layers.*.ffn.*', 'bbox_head.*'],  # MoE-Tuning's split
    backbone=dict(norm_eval=True))  # frozen backbone: freeze BN statistics
