"""Import paths of the layout before the method folders still resolve, or
fail with a message naming where their contents went."""
from __future__ import annotations

import importlib
import sys

import pytest

import mmdet_dynmoe  # noqa: F401  (installs the finder)
from mmdet_dynmoe.compat.moved_modules import GONE, MOVED, SPLIT


@pytest.mark.parametrize('old', sorted(MOVED))
def test_a_moved_module_imports_under_its_old_path_with_a_warning(old):
    sys.modules.pop(old, None)
    with pytest.warns(FutureWarning, match=f'{old} moved to {MOVED[old]}'):
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
    assert module.__spec__.name == MOVED[old]  # keeps its own identity


@pytest.mark.parametrize('old', sorted(GONE))
def test_a_split_or_removed_module_names_where_its_contents_went(old):
    sys.modules.pop(old, None)
    with pytest.raises(ModuleNotFoundError, match='no longer exists: '):
        importlib.import_module(old)


@pytest.mark.parametrize('old', sorted(SPLIT))
def test_a_split_package_says_where_each_name_went(old):
    sys.modules.pop(old, None)
    with pytest.warns(FutureWarning, match='was split'):
        importlib.import_module(old)
    with pytest.raises(ImportError, match='mmdet_dynmoe.damex'):
        exec(f'from {old} import routing_purity')


@pytest.mark.parametrize('package,name,new', [
    ('mmdet_dynmoe.moe', 'HierarchicalRouter', 'mmdet_dynmoe.hi_moe'),
    ('mmdet_dynmoe.moe', 'routing_target_loss', 'mmdet_dynmoe.damex'),
    ('mmdet_dynmoe.models', 'MoEGroundingDINO', 'mmdet_dynmoe.dynamic_dino'),
    ('mmdet_dynmoe.damex', 'DatasetMixture', 'mmdet_dynmoe.datasets'),
    ('mmdet_dynmoe.damex', 'PerDatasetMetric', 'mmdet_dynmoe.evaluation'),
])
def test_a_name_that_left_its_package_names_the_new_one(package, name, new):
    with pytest.raises(ImportError, match=f'moved: import it from {new}'):
        exec(f'from {package} import {name}')
    assert getattr(importlib.import_module(new), name)


def test_old_paths_of_registered_names_reach_the_same_classes():
    from mmdet.registry import DATASETS, METRICS, MODELS

    from mmdet_dynmoe.models.detectors import MoEDINO  # old path
    assert MODELS.get('MoEDINO') is MoEDINO
    assert MODELS.get('MoEGroundingDINO').__module__ == \
        'mmdet_dynmoe.dynamic_dino.moe_grounding_dino'
    assert DATASETS.get('DatasetMixture').__module__ == \
        'mmdet_dynmoe.datasets.dataset_mixture'
    assert METRICS.get('PerDatasetMetric').__module__ == \
        'mmdet_dynmoe.evaluation.per_dataset_metric'


def test_a_renamed_engine_name_says_its_new_name():
    with pytest.raises(
            ImportError, match='DISPATCH_MODES is now '
            'DISPATCH_PATHS'):
        exec('from mmdet_dynmoe.moe import DISPATCH_MODES')
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        exec('from mmdet_dynmoe import moe; moe.nope')
