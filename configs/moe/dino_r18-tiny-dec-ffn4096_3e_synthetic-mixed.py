# Width ladder (is the benchmark capacity-bound?): the dense CPU DINO with
# decoder FFNs of 4096 channels instead of 1024; everything else the
# baseline's. configs/moe/README.md has the ladder.
_base_ = '../baseline/dino_r18-tiny_3e_synthetic-mixed.py'

model = dict(
    decoder=dict(layer_cfg=dict(ffn_cfg=dict(
        feedforward_channels=4096))))  # ladder: decoder FFN width
