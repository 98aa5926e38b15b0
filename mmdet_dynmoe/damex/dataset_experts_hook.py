"""DatasetExpertsHook: check DAMEX's mapping against the training datasets."""
from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmdet_dynmoe.engine import unwrap_model


@HOOKS.register_module()
class DatasetExpertsHook(Hook):
    """Before training, refuse a ``dataset_experts`` mapping that names a
    dataset the training mixture does not have or leaves one of its
    datasets out (the mixture's ``metainfo['dataset_names']``)."""

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        names = runner.train_dataloader.dataset.metainfo.get('dataset_names')
        if names is None:
            raise ValueError('DatasetExpertsHook: the training dataset has no '
                             "metainfo['dataset_names']; train on a "
                             'DatasetMixture')
        model.dataset_experts.check_datasets(names)
