# Dynamic-DINO's control: the dense model of step 1 fine-tuned for the same
# extra schedule with the same frozen/trainable split (its decoder FFNs in
# place of the MoE layers), so MoE-Tuning is compared at equal training.
_base_ = './dynamic-dino_r18-tiny-n4k2_1e_synthetic-mixed.py'

model = dict(
    moe_cfg=None,  # control: stay dense (MoEGroundingDINO = stock GDINO)
    trainable=[
        'decoder.layers.*.ffn.*', 'encoder.fusion_layers.*', 'bbox_head.*'
    ])  # control: dense FFNs where the MoE would be
