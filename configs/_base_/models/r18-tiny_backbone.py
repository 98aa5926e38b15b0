# The CPU-sized ResNet-18 that the tiny configs train from scratch, and the
# neck input of its stages 1-3 (strides 8-32). This file only adds names no
# mmdet base defines, so it can sit beside any mmdet config in a `_base_`
# list; a config then merges them into its base's ResNet-50 and neck:
#   model = dict(backbone=_base_.r18_tiny_backbone,
#                neck=dict(in_channels=_base_.r18_tiny_neck_in_channels))
r18_tiny_backbone = dict(
    depth=18,  # tiny: R50 in the base
    base_channels=32,  # tiny: 64 in the base
    out_indices=(1, 2, 3),
    frozen_stages=-1,  # from scratch: nothing pretrained to freeze
    norm_cfg=dict(type='BN', requires_grad=True),  # from scratch
    norm_eval=False,  # from scratch: BN statistics must adapt
    init_cfg=None)  # no model hub here: train the backbone from scratch
r18_tiny_neck_in_channels = [64, 128, 256]  # R18 with base_channels=32
