"""COCO-format dataset of the synthetic benchmark, with actionable errors."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any, Sequence

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

_REQUIRED_KEYS = ('images', 'annotations', 'categories')


def check_coco_file(ann_file: str, data_root: str | None = None) -> dict:
    """Load a COCO annotation file, raising errors that name the problem.

    Args:
        ann_file: path of the JSON file.
        data_root: the dataset's root, checked first when given.

    Returns:
        The parsed JSON.

    Raises:
        FileNotFoundError: missing data root or annotation file.
        ValueError: the file is not JSON or lacks COCO's top-level keys.
    """
    hint = ('generate the synthetic benchmark with `python '
            'tools/make_synthetic.py {}` (or `make demo`), or point data_root '
            'at your dataset')
    if data_root and not osp.isdir(data_root):
        raise FileNotFoundError(f'data_root {data_root!r} does not exist: ' +
                                hint.format(data_root))
    if not osp.isfile(ann_file):
        folder = osp.dirname(ann_file)
        listing = (
            sorted(f for f in os.listdir(folder)
                   if f.endswith('.json')) if osp.isdir(folder) else None)
        where = (f'; JSON files in {folder!r}: {listing}'
                 if listing is not None else
                 f'; its folder {folder!r} does not exist either')
        raise FileNotFoundError(
            f'annotation file {ann_file!r} does not exist{where}')
    try:
        with open(ann_file) as f:
            content = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(
            f'annotation file {ann_file!r} is not valid JSON: {e}') from None
    if not isinstance(content, dict):
        raise ValueError(f'annotation file {ann_file!r}: expected a JSON '
                         f'object, got {type(content).__name__}')
    missing = [k for k in _REQUIRED_KEYS if k not in content]
    if missing:
        raise ValueError(f'annotation file {ann_file!r} is not COCO format: '
                         f'missing top-level keys {missing}')
    return content


@DATASETS.register_module()
class SyntheticCocoDataset(CocoDataset):
    """:class:`mmdet.datasets.CocoDataset` for the synthetic benchmark.

    Differences from ``CocoDataset`` (it reads any COCO file):

    - ``metainfo.classes`` defaults to the file's categories (in id order),
      so a config need not repeat them.
    - ``image_fields`` (default: ``domain``, ``difficulty``, ``hard``) are
      copied from each image entry into its data info; add them to
      ``PackDetInputs(meta_keys=...)`` to see them in ``DetDataSample``.
    - A missing data root or annotation file and a malformed annotation file
      raise errors naming the file and what to do.

    Args:
        image_fields: image-entry keys to carry into data infos.
        *args, **kwargs: as :class:`CocoDataset`.
    """

    METAINFO = dict(classes=None, palette=None)

    def __init__(self,
                 *args: Any,
                 image_fields: Sequence[str] = ('domain', 'difficulty',
                                                'hard'),
                 **kwargs: Any) -> None:
        self.image_fields = tuple(image_fields)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict]:
        content = check_coco_file(self.ann_file, self.data_root or None)
        if not self._metainfo.get('classes'):
            cats = sorted(content['categories'], key=lambda c: c['id'])
            self._metainfo['classes'] = tuple(c['name'] for c in cats)
        del content  # CocoDataset parses the file again through its COCO API
        return super().load_data_list()

    def parse_data_info(self, raw_data_info: dict) -> dict:
        data_info = super().parse_data_info(raw_data_info)
        img_info = raw_data_info['raw_img_info']
        for key in self.image_fields:
            if key in img_info:
                data_info[key] = img_info[key]
        return data_info
