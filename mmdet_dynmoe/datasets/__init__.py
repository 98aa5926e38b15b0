"""Datasets, samplers and transforms (no method of their own).

synthetic_coco_dataset.py (the built-in benchmark's COCO files) |
dataset_mixture.py (DatasetMixture: datasets with their own label sets as
one, each sample tagged with its dataset) | label_space.py (the unified
label space) | transforms/tag_dataset_source.py | samplers/ (dataset ratios,
one dataset per batch).
"""
from .dataset_mixture import DatasetMixture
from .label_space import LabelSpace, LabelSpaceTable
from .samplers import DatasetRatioSampler, OneDatasetPerBatchSampler
from .synthetic_coco_dataset import SyntheticCocoDataset
from .transforms import DATASET_META_KEYS, TagDatasetSource

__all__ = [
    'DATASET_META_KEYS', 'DatasetMixture', 'DatasetRatioSampler', 'LabelSpace',
    'LabelSpaceTable', 'OneDatasetPerBatchSampler', 'SyntheticCocoDataset',
    'TagDatasetSource'
]
