"""Tiny stand-ins for real datasets, written where a dataset config looks.

Paper-scale configs point at COCO, LVIS, ODinW, Objects365 (ODVG), ... which
are not on a laptop or a CI machine. :func:`write_layout_fixture` reads a
dataset config (the ``dataset`` of a dataloader) and writes a few random
images plus annotation files in exactly the layout that config expects
(``data_root`` / ``ann_file`` / ``data_prefix`` / ``label_map_file``, the
class names of its ``metainfo``), so the config's own dataset classes,
pipelines and metrics run unchanged on them::

    cfg = Config.fromfile('configs/dynamic_dino/...odinw13.py')
    write_layout_fixture(cfg.test_dataloader.dataset)  # relative to cwd

Supported dataset types (and subclasses): ``CocoDataset``, ``LVISV05Dataset``
/ ``LVISV1Dataset``, ``ODVGDataset`` (detection with a label map, or
grounding without), and the wrappers ``ConcatDataset``, ``RepeatDataset``,
``ClassBalancedDataset``, ``MultiImageMixDataset`` and ``DatasetMixture``
(:mod:`mmdet_dynmoe.damex`).
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any

import numpy as np
from PIL import Image

_WRAPPERS_OF_ONE = ('RepeatDataset', 'ClassBalancedDataset',
                    'MultiImageMixDataset')
_WRAPPERS_OF_MANY = ('ConcatDataset', 'DatasetMixture')


def write_layout_fixture(dataset_cfg: dict,
                         root: str = '.',
                         num_images: int = 2,
                         seed: int = 0) -> list[str]:
    """Write a tiny dataset in the layout ``dataset_cfg`` reads.

    Args:
        dataset_cfg: a dataloader's ``dataset`` config (dict or ConfigDict).
        root: directory the config's relative paths are taken from.
        num_images: images per dataset.
        seed: seed of the random images and boxes.

    Returns:
        The annotation files written.
    """
    from mmdet.datasets import CocoDataset, LVISV05Dataset, ODVGDataset
    from mmdet.registry import DATASETS

    kind = dataset_cfg['type']
    if kind in _WRAPPERS_OF_MANY:
        return [
            f for i, d in enumerate(dataset_cfg['datasets'])
            for f in write_layout_fixture(d, root, num_images, seed + i)
        ]
    if kind in _WRAPPERS_OF_ONE:
        return write_layout_fixture(dataset_cfg['dataset'], root, num_images,
                                    seed)
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    if cls is None:
        raise KeyError(f'dataset type {kind!r} is not registered in mmdet')
    rng = np.random.default_rng(seed)
    data_root = osp.join(root, dataset_cfg.get('data_root', '') or '')
    prefix = (dataset_cfg.get('data_prefix') or {}).get('img', '') or ''
    ann_file = osp.join(data_root, dataset_cfg['ann_file'])
    if issubclass(cls, ODVGDataset):
        images = _write_images(data_root, prefix, num_images, rng)
        if dataset_cfg.get('label_map_file'):
            _write_odvg_detection(
                ann_file, osp.join(data_root, dataset_cfg['label_map_file']),
                images, rng)
        else:
            _write_odvg_grounding(ann_file, images, rng)
        return [ann_file]
    if issubclass(cls, CocoDataset):
        classes = _classes(dataset_cfg, cls)
        lvis = issubclass(cls, LVISV05Dataset)
        images = _write_images(
            data_root,
            prefix,
            num_images,
            rng,
            subdir='val2017' if lvis else '')
        coco = _coco_dict(classes, images, rng, lvis=lvis)
        _dump(ann_file, coco)
        return [ann_file]
    raise NotImplementedError(
        f'write_layout_fixture: no layout known for dataset type {kind!r}; '
        'supported: CocoDataset, LVISV05Dataset, LVISV1Dataset, ODVGDataset '
        '(and subclasses), ' + ', '.join(_WRAPPERS_OF_MANY + _WRAPPERS_OF_ONE))


def _classes(dataset_cfg: dict, cls: type) -> tuple[str, ...]:
    metainfo = dataset_cfg.get('metainfo') or {}
    classes = metainfo.get('classes') or cls.METAINFO.get('classes')
    if not classes:
        raise ValueError(f'{cls.__name__}: no class names in the config\'s '
                         'metainfo or the dataset\'s METAINFO')
    return tuple(classes)


def _write_images(data_root: str,
                  prefix: str,
                  num: int,
                  rng: np.random.Generator,
                  subdir: str = '') -> list[dict]:
    """Random RGB images; returns ``file_name`` (relative to the prefix)."""
    images = []
    for i in range(num):
        w, h = int(rng.integers(64, 97)), int(rng.integers(48, 81))
        name = osp.join(subdir, f'{i + 1:012d}.jpg')
        path = osp.join(data_root, prefix, name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
        images.append(dict(id=i + 1, file_name=name, width=w, height=h))
    return images


def _random_boxes(img: dict, num: int,
                  rng: np.random.Generator) -> list[list[float]]:
    """``num`` boxes ``[x1, y1, x2, y2]`` inside the image, >= 8 px a side."""
    boxes = []
    for _ in range(num):
        x1 = float(rng.uniform(0, img['width'] - 16))
        y1 = float(rng.uniform(0, img['height'] - 16))
        x2 = float(rng.uniform(x1 + 8, img['width']))
        y2 = float(rng.uniform(y1 + 8, img['height']))
        boxes.append([round(v, 1) for v in (x1, y1, x2, y2)])
    return boxes


def _coco_dict(classes: tuple[str, ...], images: list[dict],
               rng: np.random.Generator, lvis: bool) -> dict[str, Any]:
    """COCO (or LVIS v1) annotation dict with 1-3 boxes per image."""
    cats = [dict(id=i + 1, name=name) for i, name in enumerate(classes)]
    anns = []
    for img in images:
        for box in _random_boxes(img, int(rng.integers(1, 4)), rng):
            x1, y1, x2, y2 = box
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=img['id'],
                    category_id=int(rng.integers(1,
                                                 len(cats) + 1)),
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=(x2 - x1) * (y2 - y1),
                    iscrowd=0,
                    segmentation=[[x1, y1, x2, y1, x2, y2, x1, y2]]))
    if lvis:
        for cat in cats:  # LVIS evaluation groups categories by frequency
            cat['frequency'] = 'fcr'[cat['id'] % 3]
            cat['synonyms'] = [cat['name']]
        for img in images:
            img['coco_url'] = 'http://images.cocodataset.org/' + \
                img['file_name']
            img['neg_category_ids'] = []
            img['not_exhaustive_category_ids'] = []
    return dict(
        images=images,
        annotations=anns,
        categories=cats,
        info=dict(description='mmdet_dynmoe layout fixture'),
        licenses=[])


def _write_odvg_detection(ann_file: str, label_map_file: str,
                          images: list[dict],
                          rng: np.random.Generator) -> None:
    """ODVG detection: one JSON line per image plus ``{id: name}`` map."""
    names = ['person', 'car', 'dog', 'chair', 'bottle']
    _dump(label_map_file, {str(i): n for i, n in enumerate(names)})
    lines = []
    for img in images:
        instances = []
        for box in _random_boxes(img, int(rng.integers(1, 4)), rng):
            label = int(rng.integers(len(names)))
            instances.append(
                dict(bbox=box, label=label, category=names[label]))
        lines.append(
            dict(
                filename=img['file_name'],
                height=img['height'],
                width=img['width'],
                detection=dict(instances=instances)))
    _dump_lines(ann_file, lines)


def _write_odvg_grounding(ann_file: str, images: list[dict],
                          rng: np.random.Generator) -> None:
    """ODVG grounding: a caption whose phrases point at boxes."""
    lines = []
    for img in images:
        phrases = ['a red car', 'two dogs']
        caption = f'{phrases[0]} parked next to {phrases[1]}.'
        regions = []
        for phrase, box in zip(phrases, _random_boxes(img, 2, rng)):
            start = caption.index(phrase)
            regions.append(
                dict(
                    bbox=box,
                    phrase=phrase,
                    tokens_positive=[[start, start + len(phrase)]]))
        lines.append(
            dict(
                filename=img['file_name'],
                height=img['height'],
                width=img['width'],
                grounding=dict(caption=caption, regions=regions)))
    _dump_lines(ann_file, lines)


def _dump(path: str, obj: Any) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f)


def _dump_lines(path: str, objs: list[dict]) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        f.writelines(json.dumps(o) + '\n' for o in objs)


def write_voc_fixture(root: str,
                      classes: tuple[str, ...],
                      splits: tuple[str, ...] = ('train', ),
                      num_images: int = 2,
                      seed: int = 0) -> list[str]:
    """Write a tiny dataset in the PASCAL VOC layout (as UODB ships them).

    ``root/Annotations/<id>.xml``, ``root/ImageSets/Main/<split>.txt`` and
    ``root/JPEGImages/<id>.jpg``; ``num_images`` images per split, each with
    1-3 objects of ``classes`` (VOC 1-based pixel boxes), the first object of
    each image marked ``difficult``, plus one object of the name
    ``'not-a-class'``.

    Returns:
        The XML files written.
    """
    rng = np.random.default_rng(seed)
    written = []
    for split in splits:
        ids = []
        for image in _write_images(root, 'JPEGImages', num_images, rng):
            name = f'{split}_{image["id"]:06d}'
            os.replace(
                osp.join(root, 'JPEGImages', image['file_name']),
                osp.join(root, 'JPEGImages', name + '.jpg'))
            boxes = _random_boxes(image, int(rng.integers(1, 4)), rng)
            objects = [(classes[int(rng.integers(len(classes)))], box, i == 0)
                       for i, box in enumerate(boxes)]
            objects.append(('not-a-class', boxes[0], False))
            xml = [
                '<annotation>', f'<filename>{name}.jpg</filename>',
                f'<size><width>{image["width"]}</width><height>'
                f'{image["height"]}</height><depth>3</depth></size>'
            ]
            for cls, (x1, y1, x2, y2), difficult in objects:
                xml.append(
                    f'<object><name>{cls}</name>'
                    f'<difficult>{int(difficult)}</difficult><bndbox>'
                    f'<xmin>{int(x1) + 1}</xmin><ymin>{int(y1) + 1}</ymin>'
                    f'<xmax>{int(x2)}</xmax><ymax>{int(y2)}</ymax>'
                    '</bndbox></object>')
            xml.append('</annotation>')
            path = osp.join(root, 'Annotations', name + '.xml')
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write('\n'.join(xml))
            written.append(path)
            ids.append(name)
        listing = osp.join(root, 'ImageSets', 'Main', f'{split}.txt')
        os.makedirs(osp.dirname(listing), exist_ok=True)
        with open(listing, 'w') as f:
            f.writelines(i + '\n' for i in ids)
    return written
