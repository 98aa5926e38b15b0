# Dynamic-DINO's MoE-Tuning settings, shared by the paper-scale configs.
# This file only adds names no mmdet base defines, so it can sit beside any
# mmdet Grounding DINO config in a `_base_` list; each config then sets
#   model = dict(type='MoEGroundingDINO', moe_cfg=_base_.dynamic_dino_moe_cfg,
#                trainable=_base_.dynamic_dino_trainable)
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

dynamic_dino_moe_cfg = dict(
    where='decoder',  # Dynamic-DINO: MoE in the decoder FFNs only (900 queries)
    num_copies=8,  # Dynamic-DINO: N copies of each dense FFN (8 and 16 reported)
    granularity=2,  # Dynamic-DINO: k=2 slices per copy, top-k = k (best k)
    balance_loss_weight=0.01,  # Dynamic-DINO: detection + 0.01 x balancing
    z_loss_weight=0.0)  # Dynamic-DINO: no router z-loss
# Dynamic-DINO: tune the MoE layers, the feature enhancer's cross-modality
# fusion and the detection head; everything else stays frozen.
dynamic_dino_trainable = ['moe', 'encoder.fusion_layers.*', 'bbox_head.*']
