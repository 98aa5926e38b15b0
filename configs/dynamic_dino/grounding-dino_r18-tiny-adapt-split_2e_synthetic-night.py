# Adapting to new data, arm (b): the dense model with MoE-Tuning's frozen /
# trainable split (decoder FFNs where the MoE layers would be, the
# cross-modality fusion and the head), so arm (c) is compared at equal
# trainable structure.
_base_ = './grounding-dino_r18-tiny-adapt-full_2e_synthetic-night.py'

model = dict(
    type='MoEGroundingDINO',  # control: moe_cfg=None keeps it dense
    trainable=[
        'decoder.layers.*.ffn.*', 'encoder.fusion_layers.*', 'bbox_head.*'
    ],  # control: MoE-Tuning's split, dense FFNs where the MoE would be
    backbone=dict(norm_eval=True))  # frozen backbone: freeze BN statistics
