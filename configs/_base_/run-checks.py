# The run checks of our CPU configs (mmdet_dynmoe/engine/hooks/), added to
# mmdet's default_hooks. This file only adds names no mmdet base defines, so
# it can sit beside a full mmdet config in a `_base_` list; a config then sets
#   default_hooks = dict(..., num_classes_check=_base_.num_classes_check,
#                        **_base_.run_checks)
run_checks = dict(
    # --resume continues the random streams: the same run as uninterrupted
    rng_state=dict(type='RNGStateHook'),
    # boxes kept / annotations dropped per training set, warns on none
    data_check=dict(type='TrainingDataCheckHook'))
# closed-set heads: more classes in the data than num_classes is an error
# naming both (not for text-prompted heads such as Grounding DINO's)
num_classes_check = dict(type='NumClassesCheckHook')
# at test time: the speed knobs calibrated for the checkpoint
# (<ckpt>.speed.json from tools/calibrate_speed.py or calibrate_dynamicdet.py)
speed_knobs_hook = dict(type='SpeedKnobsHook')
