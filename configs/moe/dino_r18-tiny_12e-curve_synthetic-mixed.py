# The dense CPU DINO trained 4x longer with a validation every epoch: the
# convergence curve the MoE-Tuning study of the evidence issue starts from
# (MoE-Tuning starts at the dense model once its val AP stops rising; see
# configs/moe/README.md). Everything else is the baseline's.
_base_ = '../baseline/dino_r18-tiny_3e_synthetic-mixed.py'

max_epochs = 12  # curve: 3 in the baseline
train_cfg = dict(max_epochs=max_epochs, val_interval=1)  # curve: every epoch
# curve: constant lr until the plateau, then the baseline's decay (x0.1)
param_scheduler = [
    dict(_base_.param_scheduler[0], end=max_epochs, milestones=[10])
]
# curve: keep every epoch, MoE-Tuning may start from any of them
default_hooks = dict(checkpoint=dict(interval=1))
