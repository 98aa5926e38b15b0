# Dense DINO (the unchanged model of configs/baseline) trained on the four
# synthetic domains as a DAMEX mixture: four datasets, one unified label
# space, mixed batches, per-domain COCO evaluation and its mean. The
# reference point "dense model on the mixture" of the DAMEX comparison; the
# MoE and DAMEX configs inherit this file and override `model`.
_base_ = './_base_/synthetic-domains.py'
