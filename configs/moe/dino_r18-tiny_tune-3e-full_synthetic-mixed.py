# MoE-Tuning study, control 1: the converged dense DINO trained on for the
# extra schedule every tuning run gets, with every parameter trainable
# (configs/moe/README.md, "MoE-Tuning where capacity binds").
_base_ = '../baseline/dino_r18-tiny_3e_synthetic-mixed.py'

# Tuning: start at the end of the dense curve (val AP flat by then).
load_from = ('work_dirs/curve/dino_r18-tiny_12e-curve_synthetic-mixed/'
             'seed0/epoch_12.pth')

# Tuning: half the pretrain lr; with the baseline's x0.1 at epoch 2 of 3 so
# every run ends annealed like the model it starts from.
optim_wrapper = dict(optimizer=dict(lr=2e-4))
