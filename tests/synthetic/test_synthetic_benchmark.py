"""The synthetic benchmark: deterministic, valid COCO, knobs that do something."""
from __future__ import annotations

import filecmp
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmdet_dynmoe.synthetic import (DOMAINS, ZERO_SHOT_DOMAIN, SyntheticSpec,
                                    generate, render_image)
from mmdet_dynmoe.synthetic.__main__ import main as cli_main

SMALL = SyntheticSpec(
    domains=('studio', 'night'), num_train=4, num_val=2, num_zeroshot=2)


def _files(root: str) -> list[str]:
    return sorted(
        osp.relpath(osp.join(d, f), root) for d, _, fs in os.walk(root)
        for f in fs)


def _load(root: str, name: str) -> dict:
    with open(osp.join(root, 'annotations', name)) as f:
        return json.load(f)


def test_same_seed_writes_byte_identical_files(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    generate(a, SMALL, seed=7)
    generate(b, SMALL, seed=7)
    files = _files(a)
    assert files == _files(b) and len(files) > 10
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == [] and errors == []


def test_different_seed_changes_images(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    generate(a, SMALL, seed=1)
    generate(b, SMALL, seed=2)
    img = 'images/studio/train/000000.png'
    assert not filecmp.cmp(osp.join(a, img), osp.join(b, img), shallow=False)


def test_every_box_lies_inside_its_image_with_positive_area(tiny_synthetic):
    for name in os.listdir(osp.join(tiny_synthetic, 'annotations')):
        coco = _load(tiny_synthetic, name)
        images = {im['id']: im for im in coco['images']}
        for im in coco['images']:
            with Image.open(osp.join(tiny_synthetic, im['file_name'])) as pil:
                assert pil.size == (im['width'], im['height'])
        assert coco['annotations'], name
        for ann in coco['annotations']:
            x, y, w, h = ann['bbox']
            im = images[ann['image_id']]
            assert w > 0 and h > 0 and ann['area'] > 0
            assert x >= 0 and y >= 0
            assert x + w <= im['width'] and y + h <= im['height']
            assert 0.0 <= ann['occluded'] < 1.0


def test_category_ids_are_global_and_consistent(tiny_synthetic):
    with open(osp.join(tiny_synthetic, 'meta.json')) as f:
        meta = json.load(f)
    global_ids = {c['name']: c['id'] for c in meta['categories']}
    assert len(set(global_ids.values())) == len(global_ids)
    ann_ids, img_ids = set(), set()
    for name in os.listdir(osp.join(tiny_synthetic, 'annotations')):
        coco = _load(tiny_synthetic, name)
        cats = {c['id']: c['name'] for c in coco['categories']}
        for cid, cname in cats.items():
            assert global_ids[cname] == cid
        for ann in coco['annotations']:
            assert ann['category_id'] in cats
        if not name.startswith('mixed'):  # mixed repeats the domain files
            ann_ids.update(a['id'] for a in coco['annotations'])
            img_ids.update(i['id'] for i in coco['images'])
    mixed = _load(tiny_synthetic, 'mixed_train.json')
    assert {a['id'] for a in mixed['annotations']} <= ann_ids


def test_domains_have_different_partly_overlapping_label_sets():
    sets = {
        name: {c.name
               for c in d.categories}
        for name, d in DOMAINS.items()
    }
    names = list(sets)
    overlaps = [len(sets[a] & sets[b]) for a in names for b in names if a < b]
    assert max(overlaps) > 0, 'some domains must share categories'
    assert all(sets[a] != sets[b] for a in names for b in names if a != b)
    assert len(set().union(*sets.values())) > max(map(len, sets.values()))


def test_zero_shot_names_are_held_out_but_made_of_seen_words():
    train_names = {c.name for d in DOMAINS.values() for c in d.categories}
    colours = {c.colour for d in DOMAINS.values() for c in d.categories}
    shapes = {c.shape for d in DOMAINS.values() for c in d.categories}
    for cat in ZERO_SHOT_DOMAIN.categories:
        assert cat.name not in train_names
        assert cat.colour in colours and cat.shape in shapes


def test_hard_images_have_more_smaller_objects_and_record_difficulty():
    spec = SyntheticSpec(domains=('street', ), hard_ratio=0.5)
    stats = {True: [], False: []}
    for i in range(40):
        _, info, anns = render_image(DOMAINS['street'], spec, 0, 'train', i)
        assert 0.0 <= info['difficulty'] <= 1.0
        sizes = [np.sqrt(a['area']) for a in anns]
        stats[info['hard']].append(
            (len(anns), np.mean(sizes), info['knobs']['noise']))
    easy, hard = np.array(stats[False]), np.array(stats[True])
    assert len(easy) and len(hard)
    assert hard[:, 0].mean() > easy[:, 0].mean() + 2  # more objects
    assert hard[:, 1].mean() < easy[:, 1].mean() / 2  # smaller
    assert hard[:, 2].min() > easy[:, 2].max()  # noisier


def test_annotations_load_with_pycocotools_and_mmdet_dataset(tiny_synthetic):
    from mmdet.registry import DATASETS
    from pycocotools.coco import COCO

    import mmdet_dynmoe  # noqa: F401
    coco = COCO(osp.join(tiny_synthetic, 'annotations', 'night_train.json'))
    assert len(coco.getImgIds()) == 6 and len(coco.getCatIds()) == 6
    for dataset_type in ('CocoDataset', 'SyntheticCocoDataset'):
        ds = DATASETS.build(
            dict(
                type=dataset_type,
                data_root=tiny_synthetic,
                ann_file='annotations/night_train.json',
                data_prefix=dict(img=''),
                metainfo=dict(
                    classes=[c.name for c in DOMAINS['night'].categories]),
                filter_cfg=dict(filter_empty_gt=False),
                pipeline=[]))
        assert len(ds) == 6
        info = ds[0]
        assert osp.isfile(info['img_path'])
        labels = [inst['bbox_label'] for inst in info['instances']]
        assert labels and all(0 <= lab < 6 for lab in labels)


def test_synthetic_dataset_reads_classes_and_image_fields_from_file(
        tiny_synthetic):
    from mmdet.registry import DATASETS

    import mmdet_dynmoe  # noqa: F401
    ds = DATASETS.build(
        dict(
            type='SyntheticCocoDataset',
            data_root=tiny_synthetic,
            ann_file='annotations/mixed_val.json',
            data_prefix=dict(img=''),
            pipeline=[]))
    meta = _load(tiny_synthetic, 'mixed_val.json')
    by_id = sorted(meta['categories'], key=lambda c: c['id'])
    assert ds.metainfo['classes'] == tuple(c['name'] for c in by_id)
    info = ds[0]
    assert info['domain'] in DOMAINS and 0 <= info['difficulty'] <= 1
    assert isinstance(info['hard'], bool)


def test_unknown_domain_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown \['beach'\].*allowed"):
        SyntheticSpec(domains=('studio', 'beach'))
    assert cli_main(['/tmp/unused', '--domains', 'beach']) == 2


def test_cli_if_missing_keeps_a_complete_dataset(tmp_path, capsys):
    out = str(tmp_path / 'd')
    args = [
        out, '--domains', 'paper', '--num-train', '2', '--num-val', '1',
        '--num-zeroshot', '0'
    ]
    assert cli_main(args) == 0
    stamp = os.stat(osp.join(out, 'meta.json')).st_mtime_ns
    assert cli_main(args + ['--if-missing']) == 0
    assert 'already complete' in capsys.readouterr().out
    assert os.stat(osp.join(out, 'meta.json')).st_mtime_ns == stamp
