"""Import paths of the layout before the method folders.

The package was reorganised into one folder per method
(``dynamic_dino/``, ``hi_moe/``, ``dynamicdet/``, ``damex/``) and shared
folders by kind. A module that moved as a whole still imports under its old
path (the new module, with a ``FutureWarning`` naming it); a path whose
contents were split or left the package fails with a message naming where
they went, and so does a name taken from a package it left
(:data:`MOVED_NAMES`). Config type names (``MoEDINO``, ``DatasetMixture``,
...) never changed: they are registry names, not import paths.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Optional

#: old module path -> the module it became.
MOVED = {
    'mmdet_dynmoe.text_encoder':
    'mmdet_dynmoe.dynamic_dino.text_encoder',
    'mmdet_dynmoe.moe.aux_losses':
    'mmdet_dynmoe.moe.collect',
    'mmdet_dynmoe.moe.hierarchical_router':
    'mmdet_dynmoe.hi_moe.hierarchical_router',
    'mmdet_dynmoe.models.moe_aux_losses':
    'mmdet_dynmoe.models.routing_loss_collector',
    'mmdet_dynmoe.models.layers':
    'mmdet_dynmoe.models',
    'mmdet_dynmoe.models.layers.moe_ffn':
    'mmdet_dynmoe.models.moe_ffn',
    'mmdet_dynmoe.models.layers.ffn_replacement':
    'mmdet_dynmoe.models.ffn_replacement',
    'mmdet_dynmoe.models.layers.token_masks':
    'mmdet_dynmoe.models.token_masks',
    'mmdet_dynmoe.models.detectors':
    'mmdet_dynmoe.models',
    'mmdet_dynmoe.models.detectors.moe_detectors':
    'mmdet_dynmoe.models.moe_detectors',
    'mmdet_dynmoe.engine.hooks.text_prompt_length_hook':
    'mmdet_dynmoe.dynamic_dino.text_prompt_length_hook',
    'mmdet_dynmoe.analysis.coactivation':
    'mmdet_dynmoe.dynamic_dino.'
    'coactivation',
    'mmdet_dynmoe.analysis.dataset_routing':
    'mmdet_dynmoe.damex.'
    'dataset_routing',
    'mmdet_dynmoe.analysis.scene_groups':
    'mmdet_dynmoe.hi_moe.scene_groups',
    'mmdet_dynmoe.analysis.routing_run':
    'mmdet_dynmoe.engine.'
    'routing_stats_run',
    'mmdet_dynmoe.damex.dataset_mixture':
    'mmdet_dynmoe.datasets.'
    'dataset_mixture',
    'mmdet_dynmoe.damex.label_space':
    'mmdet_dynmoe.datasets.label_space',
    'mmdet_dynmoe.damex.tag_dataset_source':
    'mmdet_dynmoe.datasets.transforms.tag_dataset_source',
    'mmdet_dynmoe.damex.dataset_ratio_sampler':
    'mmdet_dynmoe.datasets.samplers.dataset_ratio_sampler',
    'mmdet_dynmoe.damex.one_dataset_per_batch_sampler':
    'mmdet_dynmoe.datasets.samplers.one_dataset_per_batch_sampler',
    'mmdet_dynmoe.damex.per_dataset_metric':
    'mmdet_dynmoe.evaluation.per_dataset_metric',
}

#: old package whose modules went to several places: it imports as an empty
#: package (so its old submodule paths in :data:`MOVED` resolve), and a name
#: taken from it says where it went.
SPLIT = {
    'mmdet_dynmoe.analysis':
    'its parts moved to their methods: coactivation -> '
    'mmdet_dynmoe.dynamic_dino, dataset_routing -> mmdet_dynmoe.damex, '
    'scene_groups -> mmdet_dynmoe.hi_moe, val_with_routing_stats -> '
    'mmdet_dynmoe.engine',
}

#: old module path -> where its contents went (no module to import).
GONE = {
    'mmdet_dynmoe.damex.voc_to_coco':
    'the converter is a script now: python '
    'tools/dataset_converters/voc_to_coco.py (same arguments)',
}

#: package -> {name that left it: why it fails (after ``<package>.<name>``)}.
MOVED_NAMES = {
    'mmdet_dynmoe.moe': {
        'HierarchicalRouter':
        'moved: import it from mmdet_dynmoe.hi_moe',
        'scene_diversity_loss':
        'moved: import it from mmdet_dynmoe.hi_moe',
        'routing_target_loss':
        'moved: import it from mmdet_dynmoe.damex',
        'DISPATCH_MODES':
        'is now DISPATCH_PATHS (one name for a dispatch '
        'path)',
    },
    'mmdet_dynmoe.models': {
        'MoEGroundingDINO': 'moved: import it from mmdet_dynmoe.dynamic_dino',
    },
    'mmdet_dynmoe.damex': {
        name: f'moved: import it from {new}'
        for names, new in (
            (('DatasetMixture', 'DatasetRatioSampler',
              'OneDatasetPerBatchSampler', 'LabelSpace', 'LabelSpaceTable',
              'TagDatasetSource', 'DATASET_META_KEYS'),
             'mmdet_dynmoe.datasets'),
            (('PerDatasetMetric', 'to_dataset_space'),
             'mmdet_dynmoe.evaluation'),
        )
        for name in names
    },
}


def _moved_name_getattr(package: str, moved: dict):
    """A module ``__getattr__`` (PEP 562) that explains moved names."""

    def __getattr__(name: str):
        if name in moved:
            raise ImportError(f'{package}.{name} {moved[name]} (config type '
                              'names are unchanged)')
        raise AttributeError(f'module {package!r} has no attribute {name!r}')

    return __getattr__


def install_moved_names() -> None:
    """Give each package of :data:`MOVED_NAMES` its explaining
    ``__getattr__`` (call once the packages are imported)."""
    for package, moved in MOVED_NAMES.items():
        module = sys.modules[package]
        module.__getattr__ = _moved_name_getattr(package, moved)


class _Alias(importlib.abc.Loader):
    """Loads an old path as the module it became."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._spec = None

    def create_module(self, spec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # importlib gave the module the old path's spec; it keeps its own.
        module.__spec__ = self._spec


class _SplitPackage(importlib.abc.Loader):
    """An empty package whose attributes explain where they went."""

    def __init__(self, message: str) -> None:
        self.message = message

    def create_module(self, spec) -> None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        message = f'{module.__name__} was split: {self.message}'

        def __getattr__(name: str):
            if name.startswith('__'):
                raise AttributeError(name)
            raise ImportError(message)

        module.__getattr__ = __getattr__


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Resolves the paths of :data:`MOVED` and :data:`SPLIT`, explains
    :data:`GONE`."""

    def find_spec(self,
                  fullname: str,
                  path=None,
                  target=None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname in GONE:
            raise ModuleNotFoundError(
                f'{fullname} no longer exists: {GONE[fullname]}',
                name=fullname)
        if fullname in SPLIT:
            warnings.warn(
                f'{fullname} was split: {SPLIT[fullname]}',
                FutureWarning,
                stacklevel=2)
            return importlib.machinery.ModuleSpec(
                fullname, _SplitPackage(SPLIT[fullname]), is_package=True)
        if fullname not in MOVED:
            return None
        new = MOVED[fullname]
        warnings.warn(
            f'{fullname} moved to {new}; import it from there',
            FutureWarning,
            stacklevel=2)
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
