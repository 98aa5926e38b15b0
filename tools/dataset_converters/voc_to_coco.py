"""Convert a VOC-style dataset (as UODB ships its datasets) to COCO json.

UODB releases every dataset but COCO in the PASCAL VOC layout::

    <src>/Annotations/<id>.xml
    <src>/ImageSets/Main/<split>.txt      # one image id per line
    <src>/JPEGImages/<id>.<ext>

This writes the layout of ``configs/damex/_base_/uodb.py``::

    <out>/annotations/<split>.json        # COCO, categories = ``classes``
    <out>/images -> <src>/JPEGImages       # symlink; file_name = <id>.<ext>

Usage (classes from the UODB data config)::

    python tools/dataset_converters/voc_to_coco.py UODB/KITTI data/uodb/kitti \\
        --dataset kitti --split train --split val:test
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Sequence

from PIL import Image

_EXTS = ('.jpg', '.png', '.jpeg', '.bmp')


def voc_to_coco(src: str, split: str, classes: Sequence[str]) -> dict:
    """COCO dict of one VOC split.

    Boxes: VOC's 1-based inclusive ``xmin..xmax`` become COCO
    ``[xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]``; objects
    marked ``difficult`` become ``iscrowd=1`` (ignored by mmdet in training
    and by COCO evaluation, as VOC ignores them); objects of other names are
    left out and counted in ``info['skipped_objects']``.

    Args:
        src: the dataset's VOC root (holds ``Annotations``, ``ImageSets``,
            ``JPEGImages``).
        split: name of ``ImageSets/Main/<split>.txt``.
        classes: the dataset's class names (lower case; XML names are
            lower-cased and stripped, as UODB does); category id = index + 1.

    Raises:
        FileNotFoundError: missing split list, XML file or image.
    """
    listing = osp.join(src, 'ImageSets', 'Main', f'{split}.txt')
    if not osp.isfile(listing):
        have = sorted(
            f[:-4] for f in os.listdir(osp.join(src, 'ImageSets', 'Main'))
        ) if osp.isdir(osp.join(src, 'ImageSets', 'Main')) else []
        raise FileNotFoundError(f'split list {listing!r} does not exist; '
                                f'splits there: {have}')
    with open(listing) as f:
        ids = [line.split()[0] for line in f if line.strip()]
    cat_ids = {name: i + 1 for i, name in enumerate(classes)}
    images, anns, skipped = [], [], {}
    for img_id, name in enumerate(ids, start=1):
        root = ET.parse(osp.join(src, 'Annotations', f'{name}.xml')).getroot()
        file_name = _image_file(src, name, root)
        width, height = _size(src, file_name, root)
        images.append(
            dict(id=img_id, file_name=file_name, width=width, height=height))
        for obj in root.findall('object'):
            cls = obj.findtext('name', '').lower().strip()
            if cls not in cat_ids:
                skipped[cls] = skipped.get(cls, 0) + 1
                continue
            box = obj.find('bndbox')
            x1, y1, x2, y2 = (
                float(box.findtext(k))
                for k in ('xmin', 'ymin', 'xmax', 'ymax'))
            w, h = x2 - x1 + 1, y2 - y1 + 1
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=img_id,
                    category_id=cat_ids[cls],
                    bbox=[x1 - 1, y1 - 1, w, h],
                    area=w * h,
                    iscrowd=int(obj.findtext('difficult', '0').strip() or 0)))
    return dict(
        info=dict(
            description=f'{osp.basename(osp.normpath(src))} {split} '
            'converted from VOC layout',
            skipped_objects=skipped),
        images=images,
        annotations=anns,
        licenses=[],
        categories=[dict(id=i, name=n) for n, i in cat_ids.items()])


def _image_file(src: str, name: str, root: ET.Element) -> str:
    listed = root.findtext('filename')
    if listed and osp.isfile(osp.join(src, 'JPEGImages', listed)):
        return listed
    for ext in _EXTS:
        if osp.isfile(osp.join(src, 'JPEGImages', name + ext)):
            return name + ext
    raise FileNotFoundError(f'no image for {name!r} in '
                            f'{osp.join(src, "JPEGImages")} ({_EXTS})')


def _size(src: str, file_name: str, root: ET.Element) -> tuple[int, int]:
    size = root.find('size')
    if size is not None and size.findtext('width') and \
            int(float(size.findtext('width'))) > 0:
        return (int(float(size.findtext('width'))),
                int(float(size.findtext('height'))))
    with Image.open(osp.join(src, 'JPEGImages', file_name)) as img:
        return img.size


def convert(src: str, out: str, classes: Sequence[str],
            splits: Sequence[tuple[str, str]]) -> list[str]:
    """Write ``out/annotations/<name>.json`` per split and link the images.

    Args:
        src: VOC root of the dataset.
        out: the dataset's folder in the config layout
            (``data/uodb/<name>``).
        classes: its class names.
        splits: ``(output name, VOC split)`` pairs, e.g.
            ``[('train', 'train'), ('val', 'test')]``.

    Returns:
        The annotation files written.
    """
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    images = osp.join(out, 'images')
    if not osp.exists(images):
        os.symlink(osp.abspath(osp.join(src, 'JPEGImages')), images)
    written = []
    for name, split in splits:
        path = osp.join(out, 'annotations', f'{name}.json')
        with open(path, 'w') as f:
            json.dump(voc_to_coco(src, split, classes), f)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='VOC root of one dataset')
    parser.add_argument('out', help='its folder, e.g. data/uodb/kitti')
    parser.add_argument(
        '--dataset', required=True, help='key of uodb_classes in --config')
    parser.add_argument('--config', default='configs/damex/_base_/uodb.py')
    parser.add_argument(
        '--split',
        action='append',
        required=True,
        help="'train' or 'out_name:voc_split' (e.g. val:test); repeatable")
    args = parser.parse_args(argv)
    from mmengine.config import Config
    classes = Config.fromfile(args.config).uodb_classes
    if args.dataset not in classes:
        raise SystemExit(f'--dataset {args.dataset!r} is not in '
                         f'{args.config} (uodb_classes: {list(classes)})')
    splits = [
        tuple(s.split(':', 1)) if ':' in s else (s, s) for s in args.split
    ]
    for path in convert(args.src, args.out, classes[args.dataset], splits):
        print(path)


if __name__ == '__main__':
    main()
