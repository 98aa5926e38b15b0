from .dataset_ratio_sampler import DatasetRatioSampler
from .one_dataset_per_batch_sampler import OneDatasetPerBatchSampler

__all__ = ['DatasetRatioSampler', 'OneDatasetPerBatchSampler']
