"""Transform that tells a sample which dataset of a mixture it comes from."""
from __future__ import annotations

from typing import Sequence

from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

#: The keys every sample of a :class:`DatasetMixture` carries in
#: ``DetDataSample.metainfo`` (``PackDetInputs(meta_keys=...)`` must list
#: them; the mixture adds them itself).
DATASET_META_KEYS = ('dataset_id', 'dataset_name')


@TRANSFORMS.register_module()
class TagDatasetSource(BaseTransform):
    """Add the source dataset and move labels into the unified label space.

    Runs first in each dataset's pipeline of a mixture (the
    :class:`DatasetMixture` inserts it): it sets ``results['dataset_id']``
    and ``results['dataset_name']`` and rewrites every
    ``results['instances'][i]['bbox_label']`` from the dataset's own label
    to its unified id, so ``LoadAnnotations`` then yields
    ``gt_bboxes_labels`` in unified ids. Transforms that run after
    ``LoadAnnotations`` see unified labels only.

    Args:
        dataset_id: the dataset's position in the mixture.
        dataset_name: the dataset's name.
        to_unified: local label -> unified id, ``(C_d,)``.
    """

    def __init__(self, dataset_id: int, dataset_name: str,
                 to_unified: Sequence[int]) -> None:
        self.dataset_id = int(dataset_id)
        self.dataset_name = str(dataset_name)
        self.to_unified = tuple(int(i) for i in to_unified)

    def transform(self, results: dict) -> dict:
        results['dataset_id'] = self.dataset_id
        results['dataset_name'] = self.dataset_name
        for inst in results.get('instances', ()):
            label = inst.get('bbox_label')
            if label is None:
                continue
            if not 0 <= label < len(self.to_unified):
                raise ValueError(
                    f'dataset {self.dataset_name!r} (id {self.dataset_id}), '
                    f'image {results.get("img_path")!r}: bbox_label {label} '
                    f'is outside its {len(self.to_unified)} classes')
            inst['bbox_label'] = self.to_unified[label]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(dataset_id={self.dataset_id}, '
                f'dataset_name={self.dataset_name!r}, '
                f'to_unified={self.to_unified})')
