"""DAMEX: dataset mixtures with dataset ids, unified label spaces, mixture
samplers, per-dataset evaluation, and the dataset-aware MoE DINO."""
from .damex_dino import DAMEXDINO
from .dataset_expert_map import DatasetExpertMap, DatasetExperts
from .dataset_experts_hook import DatasetExpertsHook
from .dataset_mixture import DatasetMixture
from .dataset_ratio_sampler import DatasetRatioSampler
from .label_space import LabelSpace, LabelSpaceTable
from .one_dataset_per_batch_sampler import OneDatasetPerBatchSampler
from .per_dataset_metric import PerDatasetMetric, to_dataset_space
from .tag_dataset_source import DATASET_META_KEYS, TagDatasetSource

__all__ = [
    'DAMEXDINO', 'DATASET_META_KEYS', 'DatasetExpertMap', 'DatasetExperts',
    'DatasetExpertsHook',
    'DatasetMixture', 'DatasetRatioSampler',
    'LabelSpace', 'LabelSpaceTable', 'OneDatasetPerBatchSampler',
    'PerDatasetMetric', 'TagDatasetSource', 'to_dataset_space'
]
