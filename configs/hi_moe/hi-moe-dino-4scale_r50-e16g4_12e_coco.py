# HI-MoE at paper scale: DINO-4scale R50 on COCO with every decoder FFN turned
# into 16 experts (4 groups) of half the dense FFN; a scene router keeps 2
# groups per image, an instance router 2 experts per query (equal active
# parameters to the dense DINO). Trained from the usual ImageNet backbone.
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    './_base_/hi-moe_e16g4.py',
]
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

model = dict(
    type='MoEDINO',  # HI-MoE: DINO + moe_cfg
    moe_cfg=_base_.hi_moe_cfg)
