"""NumClassesCheckHook: more categories in the data than the head predicts."""
from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ..model_loading import unwrap_model

#: sub-detectors built from the same config keys (DynamicDet's two)
_SHARED_CONFIG = ('detector1.', 'detector2.')


def head_config_key(module_name: str) -> str:
    """The config key of a head's ``num_classes``, e.g.
    ``'detector1.roi_head.bbox_head'`` -> ``'model.roi_head.bbox_head
    .num_classes'``."""
    for prefix in _SHARED_CONFIG:
        if module_name.startswith(prefix):
            module_name = module_name[len(prefix):]
    return f'model.{module_name}.num_classes'


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Refuse, before training, a dataset with more classes than a head.

    Without it such data crashes deep inside mmdet (DINO: ``IndexError:
    index out of range in self`` in the denoising label embedding; a
    two-stage head: ``Class values must be smaller than num_classes``). Every
    ``*bbox_head`` with a ``num_classes`` is checked against the training
    dataset's ``metainfo['classes']``; fewer classes in the data is allowed
    (a head may predict classes a dataset does not annotate). mmdet's own
    ``NumClassCheckHook`` demands equality of every module with a
    ``num_classes``, which text-prompted heads (Grounding DINO's 256 token
    slots) do not meet.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        classes = dataset.metainfo.get('classes')
        if not classes:
            return
        model = unwrap_model(runner.model)
        for name, module in model.named_modules():
            num = getattr(module, 'num_classes', None)
            if not name.endswith('bbox_head') or not isinstance(num, int):
                continue
            if len(classes) > num:
                raise ValueError(
                    f'the training data has {len(classes)} classes but '
                    f'{name} predicts num_classes={num}: set '
                    f'{head_config_key(name)}={len(classes)} in the config '
                    f'(classes: {list(classes)[:8]}'
                    f'{" ..." if len(classes) > 8 else ""})')
