# DynamicDet step 1 around the CPU-sized DINO: two cascaded DINOs and the
# difficulty router, so DynamicDet's threshold combines with the DETR
# decoder's test-time knobs (decoder_depth, decoder_exit: they apply to both
# detectors). Everything else is the dense baseline's.
_base_ = '../baseline/dino_r18-tiny_3e_synthetic-mixed.py'

model = dict(
    type='DynamicDetector',  # DynamicDet: two cascaded DINOs + router
    detector_type='MoEDINO',  # DynamicDet: DINO with the decoder knobs
    step=1,  # DynamicDet: joint training of detector 1 and 2
    threshold=0.5)  # DynamicDet: easiness below it -> detector 2

# DynamicDet: test reports hard ratio, latency and FLOPs per path, and
# applies the knobs calibrated for the checkpoint.
custom_hooks = [dict(type='DynamicDetReportHook')]

# DynamicDet: step 1's router is untrained, so validation scores each
# detector alone (d1/..., d2/... and d2-d1/... metrics).
val_cfg = dict(type='StaticPathsValLoop')
