"""Metrics: per-dataset evaluation of a mixture, rank correlation."""
from .per_dataset_metric import PerDatasetMetric, to_dataset_space
from .rank_correlation import spearman

__all__ = ['PerDatasetMetric', 'spearman', 'to_dataset_space']
