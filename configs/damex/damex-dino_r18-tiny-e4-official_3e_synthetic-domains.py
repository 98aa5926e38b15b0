# DAMEX with every mechanism of the official code (jinga-lala/DAMEX with
# tutel v0.2.1) on the four synthetic domains; configs/damex/README.md has
# the table of each mechanism, the official file and our default. The data,
# the layers (decoder 0 and 2), top-1, capacity 1.25 and the routing loss
# (0.1 x mean over the MoE layers, every query) are those of the default
# DAMEX config it inherits. Not reproduced: the official per-token targets,
# built batch-first for query-first tokens (wrong above one image per GPU);
# ours name each token's own image's dataset.
_base_ = [
    './damex-dino_r18-tiny-e4_3e_synthetic-domains.py',
    './_base_/official-moe-block.py',
]

model = dict(
    moe_cfg=dict(
        _base_.damex_official_moe_block,
        router_cfg=dict(
            noise_in_loss=False,  # DAMEX official: noise chooses only
            noise_std=1.0 / 4)))  # DAMEX official: gate_noise 1.0 / E = 4
