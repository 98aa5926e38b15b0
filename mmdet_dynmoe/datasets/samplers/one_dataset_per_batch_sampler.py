"""Batch sampler whose batches each hold images of one dataset only."""
from __future__ import annotations

from typing import Sequence

from mmdet.datasets.samplers import MultiDataAspectRatioBatchSampler
from mmdet.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class OneDatasetPerBatchSampler(MultiDataAspectRatioBatchSampler):
    """mmdet's ``MultiDataAspectRatioBatchSampler`` with a plain batch size.

    Every batch holds images of one dataset of the mixture (and one aspect
    ratio group, w < h or w >= h, as mmdet's sampler does). The order of
    batches follows the index sampler, so the default ``DefaultSampler``
    interleaves datasets across batches, and ``DatasetRatioSampler`` sets
    how often each dataset's batches come. What it adds to mmdet's: an
    ``int`` batch size (mmdet's wants one per dataset), the number of
    datasets read from the mixture, errors that name the problem.

    Args:
        sampler: index sampler over a ``DatasetMixture`` (or any mmdet
            ``ConcatDataset``); the dataloader passes it.
        batch_size: images per batch; an int, or one per dataset.
        drop_last: drop each dataset's last incomplete batch.
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int | Sequence[int],
                 drop_last: bool = True) -> None:
        dataset = getattr(sampler, 'dataset', None)
        if not hasattr(dataset, 'get_dataset_source'):
            raise TypeError(
                'OneDatasetPerBatchSampler needs a sampler over a '
                'DatasetMixture (or mmdet ConcatDataset); got a dataset of '
                f'type {type(dataset).__name__}')
        num = len(dataset.datasets)
        sizes = [int(batch_size)] * num if isinstance(batch_size, int) \
            else [int(b) for b in batch_size]
        if len(sizes) != num or min(sizes) < 1:
            raise ValueError(
                f'OneDatasetPerBatchSampler: batch_size={batch_size!r}; '
                f'give a positive int or {num} positive ints (one per '
                'dataset)')
        super().__init__(sampler, sizes, num, drop_last)
