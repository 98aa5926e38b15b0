# DAMEX on UODB with every mechanism of the official code (jinga-lala/DAMEX
# with tutel v0.2.1; configs/damex/README.md has the table): the official
# MoE block (_base_/official-moe-block.py), gate noise 1.0 / 8 for the
# choice only, and the official dataset -> expert map.
_base_ = [
    './damex-dino-4scale_r50-e8_12e_uodb.py',
    './_base_/official-moe-block.py',
]

model = dict(
    moe_cfg=dict(
        _base_.damex_official_moe_block,
        router_cfg=dict(
            noise_in_loss=False,  # DAMEX official: noise chooses only
            noise_std=1.0 / 8)),  # DAMEX official: gate_noise 1.0 / E = 8
    # DAMEX official (datasets/dataset.py, dataset_map {8: 5, 9: 1, 10: 1,
    # 11: 1} over its dataset order clipart coco deeplesion dota kitchen
    # lisa watercolor widerface kitti voc07 voc12 comic): kitti shares
    # lisa's expert; VOC (voc07 + voc12 there, one dataset here) and comic
    # share coco's; the other eight datasets have one expert each.
    dataset_experts=dict(
        _delete_=True,
        clipart=0,
        coco=1,
        deeplesion=2,
        dota=3,
        kitchen=4,
        lisa=5,
        watercolor=6,
        widerface=7,
        kitti=5,
        voc=1,
        comic=1))
