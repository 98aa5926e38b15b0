"""A mixture of datasets: mmdet's ConcatDataset that knows who is who."""
from __future__ import annotations

import copy
import logging
from typing import Any, Sequence

from mmdet.datasets import ConcatDataset
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from .label_space import LabelSpace, LabelSpaceTable
from .transforms import DATASET_META_KEYS, TagDatasetSource

#: Name reserved for the mean over datasets in per-dataset metric keys.
RESERVED_NAMES = ('mean', )


@DATASETS.register_module()
class DatasetMixture(ConcatDataset):
    """Datasets with their own label sets trained and evaluated as one.

    A :class:`mmdet.datasets.ConcatDataset` (so mmdet's multi-source
    samplers, ``get_dataset_source`` and ``cumulative_sizes`` work) that
    additionally

    - gives every sample ``dataset_id`` (int, the dataset's position in
      ``datasets``) and ``dataset_name`` (str) in ``DetDataSample.metainfo``:
      it puts :class:`TagDatasetSource` first in each dataset's pipeline and
      adds both keys to every ``PackDetInputs(meta_keys=...)`` it finds;
    - maps each dataset's labels into one unified label space
      (:class:`LabelSpace`), so ``gt_instances.labels`` are unified ids;
    - exposes the unified classes as ``metainfo['classes']`` (what the
      detector's ``num_classes`` must equal) plus, for per-dataset
      evaluation (:class:`PerDatasetMetric`), each dataset's own classes,
      label maps and annotation file.

    ``metainfo`` keys: ``classes`` (unified, ``(K,)``), ``palette`` (when
    every dataset has one), ``dataset_names`` (``(D,)``), ``dataset_infos``
    (one dict per dataset: ``name``, ``classes``, ``to_unified`` ``(C_d,)``,
    ``to_dataset`` ``(K,)`` with -1 for classes it does not annotate,
    ``ann_file``, ``metainfo``: the dataset's own metainfo) and
    ``cumulative_sizes``.

    Args:
        datasets: dataset configs (or built datasets), one per source; each
            keeps its own ``pipeline``.
        names: one unique name per dataset (default ``dataset0``, ...);
            ``'mean'`` is reserved.
        label_space: ``None`` (union of the datasets' class names in order),
            or a :data:`LabelSpaceTable` (``{name: unified id}`` or a list
            of unified names).
        require_pack_inputs: raise if a dataset's pipeline has no
            ``PackDetInputs`` (the dataset ids would not reach the model).
            Turn off only when an outer wrapper packs (e.g. a
            ``MultiImageMixDataset`` around the mixture) and add
            ``'dataset_id', 'dataset_name'`` to its ``meta_keys`` yourself.
        lazy_init: as :class:`ConcatDataset`; the label space is built on
            ``full_init`` (a dataset may read its classes from its file).

    Raises:
        ValueError: empty ``datasets``, names of the wrong length, repeated
            or reserved, a bad ``label_space`` (see :class:`LabelSpace`), a
            pipeline without ``PackDetInputs``.
        TypeError: a dataset without a pipeline to tag.
    """

    def __init__(self,
                 datasets: Sequence[BaseDataset | dict],
                 names: Sequence[str] | None = None,
                 label_space: LabelSpaceTable | None = None,
                 require_pack_inputs: bool = True,
                 lazy_init: bool = False) -> None:
        if not datasets:
            raise ValueError('DatasetMixture: `datasets` is empty; give one '
                             'dataset config per source')
        names = [f'dataset{i}' for i in range(len(datasets))] \
            if names is None else [str(n) for n in names]
        if len(names) != len(datasets):
            raise ValueError(f'DatasetMixture: {len(names)} names {names} '
                             f'for {len(datasets)} datasets')
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f'DatasetMixture: names must be unique; '
                             f'repeated: {dup}')
        reserved = [n for n in names if n in RESERVED_NAMES or '/' in n]
        if reserved:
            raise ValueError(f'DatasetMixture: names {reserved} are not '
                             f"allowed ('mean' is the average's key, '/' "
                             'separates metric keys)')
        self.names: tuple[str, ...] = tuple(names)
        self.label_space_table = label_space
        self.require_pack_inputs = require_pack_inputs
        self.label_space: LabelSpace | None = None
        # lazy: the label space needs every dataset's classes (full_init).
        super().__init__(datasets, lazy_init=True)
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """Unified metainfo (see the class docstring); a copy."""
        if not self._fully_initialized:
            self.full_init()  # the unified classes need the datasets' files
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        metas = [ds.metainfo for ds in self.datasets]
        self.label_space = LabelSpace(self.names,
                                      [m.get('classes') or () for m in metas],
                                      self.label_space_table)
        infos = []
        for i, (name, ds,
                meta) in enumerate(zip(self.names, self.datasets, metas)):
            self._tag_pipeline(i, name, ds)
            infos.append(
                dict(
                    name=name,
                    classes=self.label_space.dataset_classes[i],
                    to_unified=tuple(self.label_space.to_unified[i].tolist()),
                    to_dataset=tuple(self.label_space.to_dataset[i].tolist()),
                    ann_file=_ann_file(ds),
                    metainfo=meta))
        self._metainfo = dict(
            classes=self.label_space.classes,
            dataset_names=self.names,
            dataset_infos=infos,
            cumulative_sizes=list(self.cumulative_sizes))
        palette = _unified_palette(self.label_space, metas)
        if palette is not None:
            self._metainfo['palette'] = palette

    def _tag_pipeline(self, index: int, name: str, dataset: Any) -> None:
        """Put TagDatasetSource first and the ids into PackDetInputs."""
        chain = _pipelines(dataset)
        if not chain:
            raise TypeError(
                f'DatasetMixture: dataset {name!r} '
                f'({type(dataset).__name__}) has no pipeline to tag; give a '
                'BaseDataset (or a RepeatDataset/ClassBalancedDataset/'
                'MultiImageMixDataset around one)')
        tag = TagDatasetSource(index, name,
                               self.label_space.to_unified[index].tolist())
        inner = chain[-1]
        if inner and isinstance(inner[0], TagDatasetSource):
            inner[0] = tag  # re-tagged (the dataset object was reused)
        else:
            inner.insert(0, tag)
        packs = [t for p in chain for t in p if isinstance(t, PackDetInputs)]
        if not packs and self.require_pack_inputs:
            types = [type(t).__name__ for p in chain for t in p]
            raise ValueError(
                f'DatasetMixture: the pipeline of dataset {name!r} has no '
                f'PackDetInputs ({types}); dataset_id/dataset_name would not '
                'reach DetDataSample.metainfo. Add PackDetInputs, or pass '
                'require_pack_inputs=False and list '
                f'{DATASET_META_KEYS} in the meta_keys of the packing '
                'transform yourself')
        for pack in packs:
            missing = tuple(k for k in DATASET_META_KEYS
                            if k not in pack.meta_keys)
            if missing:
                pack.meta_keys = tuple(pack.meta_keys) + missing
                print_log(
                    f'DatasetMixture: added {missing} to the '
                    f'PackDetInputs meta_keys of dataset {name!r}',
                    logger='current',
                    level=logging.DEBUG)


def _pipelines(dataset: Any) -> list[list]:
    """Transform lists from the outermost wrapper to the innermost dataset."""
    chain = []
    while dataset is not None:
        pipeline = getattr(dataset, 'pipeline', None)
        if pipeline is not None:
            chain.append(
                pipeline.transforms if hasattr(pipeline, 'transforms'
                                               ) else pipeline)
        dataset = getattr(dataset, 'dataset', None)
    return chain


def _ann_file(dataset: Any) -> str | None:
    """The (data-root-joined) annotation file of the innermost dataset."""
    while dataset is not None:
        if getattr(dataset, 'ann_file', None):
            return dataset.ann_file
        dataset = getattr(dataset, 'dataset', None)
    return None


def _unified_palette(space: LabelSpace,
                     metas: list[dict]) -> list[tuple] | None:
    """Colour of each unified class from the first dataset that has it."""
    palette: list[tuple | None] = [None] * space.num_classes
    for meta, to_unified in zip(metas, space.to_unified):
        colours = meta.get('palette')
        if not colours or len(colours) < len(to_unified):
            return None
        for local, uid in enumerate(to_unified.tolist()):
            if palette[uid] is None:
                palette[uid] = tuple(colours[local])
    return palette  # type: ignore[return-value]
