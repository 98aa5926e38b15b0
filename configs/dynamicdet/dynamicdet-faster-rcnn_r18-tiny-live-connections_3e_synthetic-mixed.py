# DynamicDet step 1 with the composite connections live from the start: the
# official CBLinear (a plain 1x1 conv) is not zero-initialised, so backbone 2
# reads backbone 1's features from the first iteration. Our default zeroes
# each connection's last norm (CBNetV2's cb_zero_init), which keeps a
# pretrained backbone 2 intact but, from scratch, leaves backbone 2 to learn
# alone at first: detector 2 was then only about 1 AP above detector 1.
_base_ = './dynamicdet-faster-rcnn_r18-tiny_3e_synthetic-mixed.py'

model = dict(zero_init_connections=False)  # DynamicDet official: live init
