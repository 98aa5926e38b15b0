"""tools/seed_matrix.py: runs over seeds, resumes, writes mean +- std."""
from __future__ import annotations

import json
import os.path as osp
from glob import glob

import pytest

from helpers import REPO_ROOT, load_tool, tiny_dino_cfg

seed_matrix = load_tool('seed_matrix')


def test_table_gives_mean_and_sample_std_over_seeds():
    runs = {
        'a/dense.py': [
            dict(
                seed=s, metrics={
                    'coco/bbox_mAP': v,
                    'coco/bbox_mAP_50': 0.5
                }) for s, v in ((0, 0.40), (1, 0.44), (2, 0.42))
        ],
        'b/moe.py': [dict(seed=0, metrics={'coco/bbox_mAP': 0.5})],
    }
    text = seed_matrix.table(runs, ['coco/bbox_mAP', 'coco/bbox_mAP_50'])
    assert '| `dense.py` | 0, 1, 2 | 42.0 +- 2.0 (3) | 50.0 +- 0.0 (3) |' in text
    assert '| `moe.py` | 0 | 50.0 (1 run) | - |' in text
    # by default the AP keys only (per dataset too), not AP50
    default = seed_matrix.table(runs, None)
    assert '| config | seeds | coco/bbox_mAP |' in default


@pytest.mark.slow
def test_runs_each_seed_once_and_resumes(tiny_synthetic, tmp_path, capsys):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path / 'unused'))
    config = str(tmp_path / 'tiny_dino.py')
    cfg.dump(config)
    root, out = str(tmp_path / 'runs'), str(tmp_path / 'table.md')
    argv = [config, '--seeds', '0', '1', '--work-root', root, '--out', out]
    seed_matrix.main(argv)
    for seed in (0, 1):
        with open(osp.join(root, 'tiny_dino', f'seed{seed}',
                           'metrics.json')) as f:
            result = json.load(f)
        assert result['seed'] == seed
        assert f'randomness.seed={seed}' in result['command']
        assert 0 <= result['metrics']['coco/bbox_mAP'] <= 1
    with open(out) as f:
        text = f.read()
    assert '| `tiny_dino.py` | 0, 1 |' in text and '(2)' in text
    train = osp.relpath(osp.join(REPO_ROOT, 'tools', 'train.py'))
    assert f'python {train} {config}' in text  # the command, as typed
    # a second call trains nothing: the finished runs are read back
    before = sorted(glob(osp.join(root, 'tiny_dino', '*', '2*')))
    capsys.readouterr()
    seed_matrix.main(argv)
    assert 'done before' in capsys.readouterr().out
    assert sorted(glob(osp.join(root, 'tiny_dino', '*', '2*'))) == before
