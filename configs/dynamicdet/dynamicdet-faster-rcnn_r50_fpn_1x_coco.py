# DynamicDet step 1 at paper scale, two-stage: two cascaded Faster R-CNN
# R50-FPN detectors (CBNet-style composite connections) trained jointly on
# COCO. The model is mmdet's Faster R-CNN with type swapped for
# DynamicDetector; both backbones start from the same ImageNet weights.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

model = dict(
    type='DynamicDetector',  # DynamicDet: two cascaded Faster R-CNNs + router
    detector_type='FasterRCNN',  # DynamicDet: what both detectors are
    step=1,  # DynamicDet: joint training of detector 1 and 2
    threshold=0.5,  # DynamicDet: calibrate with tools/calibrate_dynamicdet.py
    # DynamicDet: backbone 2 starts as the pretrained R50 (CBNetV2's
    # zero-initialised composite connections).
    zero_init_connections=True)

# DynamicDet: test reports hard ratio, latency and FLOPs per path, and
# applies the threshold tools/calibrate_dynamicdet.py wrote for the checkpoint.
custom_hooks = [dict(type='DynamicDetReportHook')]

# The base's lr 0.02 is for 8 GPUs x 2 images; scale it if that differs.
auto_scale_lr = dict(enable=False, base_batch_size=16)

# DynamicDet: step 1's router is untrained, so validation scores each
# detector alone (d1/..., d2/... and d2-d1/... metrics).
val_cfg = dict(type='StaticPathsValLoop')
