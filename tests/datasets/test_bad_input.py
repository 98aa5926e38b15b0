"""Bad data gives an error that names the file, not a loader traceback."""
from __future__ import annotations

import os.path as osp
import shutil

import pytest

import mmdet_dynmoe  # noqa: F401
from helpers import synthetic_dataset

_build = synthetic_dataset


def test_missing_data_root_names_it_and_says_how_to_generate(tmp_path):
    root = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError) as e:
        _build(root)
    assert root in str(e.value) and 'make_synthetic.py' in str(e.value)


def test_missing_annotation_file_lists_the_available_ones(tiny_synthetic):
    with pytest.raises(FileNotFoundError) as e:
        _build(tiny_synthetic, 'annotations/studio_tain.json')
    msg = str(e.value)
    assert 'studio_tain.json' in msg and 'studio_train.json' in msg


@pytest.mark.parametrize('content, problem', [
    ('{"images": [', 'not valid JSON'),
    ('[1, 2]', 'expected a JSON object'),
    ('{"images": [], "annotations": []}', "missing top-level keys "
     r"\['categories'\]"),
])
def test_malformed_annotation_file_is_named(tmp_path, content, problem):
    (tmp_path / 'annotations').mkdir()
    bad = tmp_path / 'annotations' / 'bad.json'
    bad.write_text(content)
    with pytest.raises(ValueError, match=problem) as e:
        _build(str(tmp_path), 'annotations/bad.json')
    assert str(bad) in str(e.value)


def test_undecodable_image_is_named(tiny_synthetic, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(tiny_synthetic, root)
    broken = osp.join(root, 'images', 'studio', 'val', '000000.png')
    with open(broken, 'wb') as f:
        f.write(b'this is not a png')
    ds = _build(root, pipeline=[dict(type='LoadImageFromFile')])
    index = [
        i for i in range(len(ds)) if ds.get_data_info(i)['img_path'] == broken
    ][0]
    with pytest.raises(Exception) as e:
        ds[index]
    assert broken in str(e.value)


def test_zero_byte_image_is_named_like_an_undecodable_one(
        tiny_synthetic, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(tiny_synthetic, root)
    empty = osp.join(root, 'images', 'studio', 'val', '000001.png')
    open(empty, 'wb').close()
    ds = _build(root, pipeline=[dict(type='LoadImageFromFile')])
    index = [
        i for i in range(len(ds)) if ds.get_data_info(i)['img_path'] == empty
    ][0]
    with pytest.raises(
            AssertionError, match=f'failed to load image: '
            f'{empty}'):
        ds[index]


def test_the_empty_image_fix_is_scoped_to_mmcv_loading():
    import mmcv
    import mmcv.transforms.loading as loading
    assert loading.mmcv.imfrombytes(b'') is None
    with pytest.raises(Exception, match='empty'):
        mmcv.imfrombytes(b'')  # everyone else keeps mmcv's own
