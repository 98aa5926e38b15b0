# DynamicDet step 2: train only the router of the step-1 model on the
# per-image losses of its two detectors (everything else frozen, BN in eval).
_base_ = './dynamicdet-retinanet_r18-tiny_3e_synthetic-mixed.py'

# DynamicDet: step 2 starts from the step-1 checkpoint (RouterStepHook
# refuses to run without it).
load_from = ('work_dirs/dynamicdet-retinanet_r18-tiny_3e_synthetic-mixed/'
             'epoch_3.pth')

model = dict(step=2)  # DynamicDet: freeze all but the router, BN eval

custom_hooks = [dict(type='RouterStepHook'), dict(type='DynamicDetReportHook')]
# The router is a 2-layer MLP: a higher constant lr is enough for one pass.
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0))
max_epochs = 1  # DynamicDet: one pass over the training images
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = []  # constant lr for the short router schedule
default_hooks = dict(checkpoint=dict(interval=max_epochs))

# DynamicDet: step 2 validates the routed model (step 1 scored each path).
val_cfg = dict(type='ValLoop')
