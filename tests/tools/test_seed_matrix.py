"""tools/seed_matrix.py: runs over seeds, resumes, writes mean +- std."""
from __future__ import annotations

import json
import os
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


def test_mean_column_averages_keys_per_run_before_the_seeds(tmp_path, capsys):
    config = osp.join(REPO_ROOT, 'configs', 'baseline',
                      'dino_r18-tiny_3e_synthetic-mixed.py')
    for seed, (a, b) in enumerate(((0.2, 0.4), (0.3, 0.7))):
        run = seed_matrix.run_dir(str(tmp_path), config, seed)
        os.makedirs(run)
        with open(osp.join(run, 'metrics.json'), 'w') as f:
            json.dump(
                dict(
                    config=config,
                    seed=seed,
                    command='c',
                    metrics={
                        'a/coco/bbox_mAP': a,
                        'b/coco/bbox_mAP': b
                    }), f)
    seed_matrix.main([
        config, '--seeds', '0', '1', '--work-root',
        str(tmp_path), '--table-only', '--mean',
        'ab/coco/bbox_mAP=a/coco/bbox_mAP,b/coco/bbox_mAP'
    ])
    text = open(osp.join(tmp_path, 'table.md')).read()
    # per run (30, 50), then over seeds: 40 +- 14.1
    assert '| a/coco/bbox_mAP | b/coco/bbox_mAP | ab/coco/bbox_mAP |' in text
    assert '| 25.0 +- 7.1 (2) | 55.0 +- 21.2 (2) | 40.0 +- 14.1 (2) |' in text
    with pytest.raises(SystemExit):
        seed_matrix.parse_args([config, '--mean', 'no-keys'])
    assert 'expected NAME=KEY' in capsys.readouterr().err


def test_seed_placeholder_points_each_run_at_its_own_seed():
    cmd = seed_matrix.train_command(
        'a.py', 2, 'w/seed2',
        ['load_from=step1/seed{seed}/epoch_12.pth', 'model.step=2'])
    assert cmd[-3:] == [
        'randomness.seed=2', 'load_from=step1/seed2/epoch_12.pth',
        'model.step=2'
    ]


def test_a_run_stopped_part_way_resumes_from_its_last_checkpoint(
        tmp_path, monkeypatch):
    work_dir = str(tmp_path / 'seed0')
    calls = []

    def train(cmd, **kwargs):  # stands in for tools/train.py
        calls.append(cmd)
        vis = osp.join(work_dir, '20261201_000000', 'vis_data')
        os.makedirs(vis, exist_ok=True)
        with open(osp.join(vis, 'scalars.json'), 'w') as f:
            f.write(json.dumps({'coco/bbox_mAP': 0.5}) + '\n')
        return type('Done', (), dict(returncode=0))()

    monkeypatch.setattr(seed_matrix.subprocess, 'run', train)
    os.makedirs(work_dir)
    open(osp.join(work_dir, 'last_checkpoint'), 'w').write('epoch_5.pth')
    result = seed_matrix.run_one('a.py', 0, work_dir, [])
    assert calls[0][3:6] == ['--work-dir', work_dir, '--resume']
    assert result['resumed'] and '--resume' not in result['command']
    assert result['metrics'] == {'coco/bbox_mAP': 0.5}


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


def test_data_seed_runs_read_their_own_draw_of_the_benchmark(
        tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append((cmd, kwargs.get('env') or {}))
        return type('Done', (), dict(returncode=0))()

    monkeypatch.setattr(seed_matrix.subprocess, 'run', fake_run)
    monkeypatch.setattr(seed_matrix, 'final_val_metrics',
                        lambda work_dir: {'coco/bbox_mAP': 0.5})
    config = osp.join(REPO_ROOT, 'configs', 'baseline',
                      'dino_r18-tiny_3e_synthetic-mixed.py')
    root = str(tmp_path / 'runs')
    seed_matrix.main([
        config, '--seeds', '0', '--data-seeds', '0', '2', '--work-root', root
    ])
    trains = [(c, env) for c, env in calls if 'train.py' in c[1]]
    makes = [c for c, _ in calls if 'make_synthetic.py' in c[1]]
    assert [env['DYNMOE_SYNTHETIC_ROOT'] for _, env in trains
            ] == ['data/synthetic/', 'data/synthetic-seed2/']
    assert makes[1][2:5] == ['data/synthetic-seed2/', '--seed', '2']
    with open(
            osp.join(root, 'dino_r18-tiny_3e_synthetic-mixed', 'data2-seed0',
                     'metrics.json')) as f:
        result = json.load(f)
    assert result['data_seed'] == 2
    assert result['command'].startswith(
        'DYNMOE_SYNTHETIC_ROOT=data/synthetic-seed2/ python ')
    with open(osp.join(root, 'table.md')) as f:
        assert '| d0/s0, d2/s0 | 50.0 +- 0.0 (2) |' in f.read()


@pytest.mark.parametrize('config', [
    'baseline/dino_r18-tiny_3e_synthetic-mixed.py',
    'damex/damex-dino_r18-tiny-e4_3e_synthetic-domains.py',
    'dynamicdet/dynamicdet-retinanet_r18-tiny_3e_synthetic-mixed.py',
])
def test_synthetic_configs_read_their_data_root_from_the_environment(
        config, monkeypatch):
    from mmengine.config import Config
    monkeypatch.setenv('DYNMOE_SYNTHETIC_ROOT', '/draws/seed7/')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    text = cfg.pretty_text
    assert '/draws/seed7/' in text and 'data/synthetic/' not in text


def test_configs_after_cfg_options_are_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        seed_matrix.parse_args(
            ['--seeds', '0', '--cfg-options', 'a=1', 'configs/x.py'])
    assert 'put the config files before --cfg-options' in \
        capsys.readouterr().err
    args = seed_matrix.parse_args(
        ['configs/x.py', '--seeds', '0', '--cfg-options', 'a=1'])
    assert args.configs == ['configs/x.py'] and args.cfg_options == ['a=1']


def test_recorded_runs_count_as_finished_on_a_machine_without_work_dirs(
        tmp_path, monkeypatch):
    trained = []

    def fake_run(cmd, **kwargs):  # stands in for tools/train.py
        trained.append(cmd)
        return type('Done', (), dict(returncode=0))()

    monkeypatch.setattr(seed_matrix.subprocess, 'run', fake_run)
    monkeypatch.setattr(seed_matrix, 'final_val_metrics',
                        lambda work_dir: {'coco/bbox_mAP': 0.5})
    config = osp.join(REPO_ROOT, 'configs', 'baseline',
                      'dino_r18-tiny_3e_synthetic-mixed.py')
    records = str(tmp_path / 'records')
    argv = [
        config, '--seeds', '0', '1', '--work-root',
        str(tmp_path / 'machine1'), '--record-dir', records
    ]
    seed_matrix.main(argv)
    assert len(trained) == 2
    name = 'dino_r18-tiny_3e_synthetic-mixed'
    assert sorted(os.listdir(osp.join(records,
                                      name))) == ['seed0.json', 'seed1.json']
    # another machine: empty work root, the records only -> trains seed 2
    argv[argv.index('--work-root') + 1] = str(tmp_path / 'machine2')
    seed_matrix.main(argv[:1] + ['--seeds', '0', '1', '2'] + argv[4:])
    assert len(trained) == 3 and 'randomness.seed=2' in trained[-1]
    text = open(osp.join(tmp_path, 'machine2', 'table.md')).read()
    assert '| 0, 1, 2 | 50.0 +- 0.0 (3) |' in text


def test_compare_calls_a_gain_only_when_the_seeds_do_not_overlap():

    def runs(*aps):
        return [
            dict(seed=s, metrics={'coco/bbox_mAP': v})
            for s, v in enumerate(aps)
        ]

    results = {
        'dense.py': runs(0.48, 0.485, 0.49),
        'better.py': runs(0.50, 0.51, 0.505),
        'overlap.py': runs(0.47, 0.52, 0.50),
        'worse.py': runs(0.44, 0.45, 0.46),
        'one.py': runs(0.60),
    }
    text = seed_matrix.compare(results, 'dense.py', 'coco/bbox_mAP')
    rows = {line.split(' | ')[0]: line for line in text.splitlines()}
    assert rows['| `better.py`'].endswith('| gain |')
    assert '| +2.0 |' in rows['| `better.py`']
    assert rows['| `overlap.py`'].endswith('| no difference |')
    assert rows['| `worse.py`'].endswith('| loss |')
    assert rows['| `one.py`'].endswith('| - | - | - | - |')
    assert '`dense.py`' not in rows  # the reference has no row of its own
    # p from Welch's test: better vs dense are far apart -> small p
    p = float(rows['| `better.py`'].split(' | ')[3])
    assert p < 0.05


def test_compare_must_name_one_of_the_configs(capsys):
    with pytest.raises(SystemExit):
        seed_matrix.parse_args(['a.py', 'b.py', '--compare', 'c.py'])
    assert "'c.py' is not one of the configs" in capsys.readouterr().err
