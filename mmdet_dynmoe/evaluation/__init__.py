"""Metrics: per-dataset evaluation of a mixture, rank correlation, paired
comparison over seeds."""
from .per_dataset_metric import PerDatasetMetric, to_dataset_space
from .rank_correlation import spearman
from .seed_comparison import mean_std, paired_comparison

__all__ = [
    'PerDatasetMetric', 'mean_std', 'paired_comparison', 'spearman',
    'to_dataset_space'
]
