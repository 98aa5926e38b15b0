"""Index sampler that draws datasets of a mixture in given proportions."""
from __future__ import annotations

from typing import Mapping, Sequence

from mmdet.datasets.samplers import MultiDataSampler
from mmdet.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class DatasetRatioSampler(MultiDataSampler):
    """mmdet's ``MultiDataSampler`` with checked, optionally named, ratios.

    Each epoch draws ``len(dataset)`` indices with replacement; an index of
    dataset ``d`` comes with probability ``ratio[d] / sum(ratio)``,
    whatever the datasets' sizes (mmdet weighs each image by
    ``max_size / size_d * ratio_d``). Combine with the default batch sampler
    for mixed batches, or with ``OneDatasetPerBatchSampler`` for
    one-dataset batches drawn in these proportions.

    Args:
        dataset: a ``DatasetMixture`` (or mmdet ``ConcatDataset``).
        dataset_ratio: one non-negative weight per dataset, in order, or
            ``{dataset name: weight}`` (names of a ``DatasetMixture``; an
            absent name gets 0).
        seed: random seed (shared by all ranks when None).
        round_up: as ``MultiDataSampler``.
    """

    def __init__(self,
                 dataset,
                 dataset_ratio: Sequence[float] | Mapping[str, float],
                 seed: int | None = None,
                 round_up: bool = True) -> None:
        if not hasattr(dataset, 'datasets'):
            raise TypeError('DatasetRatioSampler needs a DatasetMixture (or '
                            'mmdet ConcatDataset); got '
                            f'{type(dataset).__name__}')
        num = len(dataset.datasets)
        if isinstance(dataset_ratio, Mapping):
            names = list(getattr(dataset, 'names', ()))
            unknown = sorted(set(dataset_ratio) - set(names))
            if unknown:
                raise ValueError(
                    f'DatasetRatioSampler: dataset_ratio names {unknown} are '
                    f'not datasets of the mixture; names: {names}')
            dataset_ratio = [dataset_ratio.get(n, 0) for n in names]
        ratio = [float(r) for r in dataset_ratio]
        if len(ratio) != num or min(ratio) < 0 or sum(ratio) <= 0:
            raise ValueError(
                f'DatasetRatioSampler: dataset_ratio={ratio}; give {num} '
                'non-negative weights (one per dataset) with a positive sum')
        empty = [
            i for i, d in enumerate(dataset.datasets)
            if len(d) == 0 and ratio[i] > 0
        ]
        if empty:
            raise ValueError(f'DatasetRatioSampler: datasets {empty} are '
                             'empty but have a positive ratio')
        super().__init__(dataset, ratio, seed=seed, round_up=round_up)
