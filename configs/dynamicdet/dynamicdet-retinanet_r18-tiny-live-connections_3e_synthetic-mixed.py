# DynamicDet step 1 (one-stage) with the composite connections live from the
# start, as the official CBLinear (a plain, not zero-initialised 1x1 conv):
# the Faster R-CNN twin of this config is where that made detector 2 clearly
# the stronger one (README, "Step 1: is detector 2 the stronger one?").
_base_ = './dynamicdet-retinanet_r18-tiny_3e_synthetic-mixed.py'

model = dict(zero_init_connections=False)  # DynamicDet official: live init
