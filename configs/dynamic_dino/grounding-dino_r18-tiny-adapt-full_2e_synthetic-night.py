# Adapting a trained Grounding DINO to new data, arm (a): plain fine-tuning,
# every parameter but the text encoder trained on the new domain only. This
# is the recipe users report forgets zero-shot and old-domain accuracy; the
# validation (inherited) measures exactly that. Point it at your data by
# changing `load_from` and the training dataset (README: "Adapting a
# detector to new data").
_base_ = './grounding-dino_r18-tiny_3e_synthetic-3domains.py'

# Adapt: start from step 1 (`mim train` of the 3-domain config writes it).
load_from = 'work_dirs/grounding-dino_r18-tiny_3e_synthetic-3domains/epoch_3.pth'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,  # adapt: the new domain's training set only
        type='SyntheticCocoDataset',
        data_root=_base_.data_root,
        ann_file=f'annotations/{_base_.new_domain}_train.json',
        data_prefix=dict(img=''),
        return_classes=True,
        pipeline=_base_.train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=1e-4))  # adapt: half the step-1 lr
max_epochs = 2  # adapt: 126 iterations on the new domain's 500 images
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = []  # adapt: constant lr for the short schedule
default_hooks = dict(checkpoint=dict(interval=max_epochs))
