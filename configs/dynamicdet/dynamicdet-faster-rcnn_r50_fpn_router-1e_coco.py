# DynamicDet step 2 at paper scale, two-stage: train only the router of the
# step-1 Faster R-CNN R50 pair (everything else frozen, BN eval).
_base_ = './dynamicdet-faster-rcnn_r50_fpn_1x_coco.py'

# DynamicDet: step 2 starts from the step-1 checkpoint (RouterStepHook
# refuses to run without it).
load_from = 'work_dirs/dynamicdet-faster-rcnn_r50_fpn_1x_coco/epoch_12.pth'

model = dict(step=2)  # DynamicDet: freeze all but the router, BN eval

custom_hooks = [dict(type='RouterStepHook'), dict(type='DynamicDetReportHook')]
# The router is a 2-layer MLP trained from scratch on frozen features.
optim_wrapper = dict(optimizer=dict(lr=0.02, weight_decay=0.0))
max_epochs = 1  # DynamicDet: one pass over train2017 for the router
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = []  # constant lr for the short router schedule

# DynamicDet: step 2 validates the routed model (step 1 scored each path).
val_cfg = dict(type='ValLoop')
