# DynamicDet step 2 for a two-stage detector, with deterministic router
# targets: the per-image losses use every anchor (RPN) and every proposal
# (RoI head) instead of a random sample of them. With sampling, two passes
# over the same image give different loss gaps L1 - L2 (test-retest Spearman
# 0.65 on 200 val images of the 3-epoch model; 1.0 with this config).
# Step 1 keeps mmdet's sampling; only the router's target changes.
_base_ = './dynamicdet-faster-rcnn_r18-tiny_router-1e_synthetic-mixed.py'

model = dict(
    train_cfg=dict(
        rpn=dict(sampler=dict(num=100000)),  # > anchors per image: all
        rcnn=dict(sampler=dict(num=100000))))  # > proposals per image: all
