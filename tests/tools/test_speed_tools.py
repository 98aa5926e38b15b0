"""tools/sweep_speed.py and tools/calibrate_speed.py: one grid, one curve,
one calibration that ``mim test`` applies."""
from __future__ import annotations

import json
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from mmdet_dynmoe.engine.speed_knobs import read_speed_file, speed_file
from mmdet_dynmoe.moe import moe_layers
from helpers import load_tool, save_initialised_checkpoint, tiny_cfg

sweep_speed = load_tool('sweep_speed')
calibrate_speed = load_tool('calibrate_speed')


def test_default_grid_crosses_the_decoder_and_the_expert_axes():
    available = dict(
        decoder_depth=[None, 2, 1],
        decoder_exit=[None, 0.1],
        test_top_k=[None, 1],
        test_top_p=[None, 0.5])
    grid = sweep_speed.build_grid(available)
    assert grid[0] == {}  # the full model first
    assert len(grid) == 4 * 3  # (full, d2, d1, exit) x (full, k1, p.5)
    assert dict(decoder_exit=0.1, test_top_p=0.5) in grid
    assert not any('decoder_depth' in g and 'decoder_exit' in g for g in grid)
    given = sweep_speed.build_grid(available, dict(test_top_k=[None, 1]))
    assert given == [{}, dict(test_top_k=1)]
    alone = sweep_speed.build_grid(available, one_at_a_time=True)
    assert len(alone) == 1 + 2 + 1 + 1 + 1 and all(
        len(g) == 1 for g in alone[1:])
    with pytest.raises(SystemExit, match='threshold'):
        sweep_speed.build_grid(available, dict(threshold=[0.5]))


def test_pareto_keeps_the_points_nothing_beats():
    points = [
        dict(ap=0.5, gflops=2.0),
        dict(ap=0.4, gflops=1.0),
        dict(ap=0.3, gflops=1.5),  # beaten by the second
        dict(ap=0.5, gflops=2.5),  # beaten by the first
    ]
    assert sweep_speed.pareto(points, 'gflops') == [True, True, False, False]


def test_savings_are_the_cheapest_setting_of_each_knob_within_the_ap_drop():

    def point(knobs, ap, ms, gflops):
        return dict(
            knobs=knobs,
            label=sweep_speed.label(knobs),
            ap=ap,
            latency_ms=ms,
            gflops=gflops)

    points = [
        point({}, 0.500, 40.0, 2.0),
        point(dict(decoder_depth=2), 0.497, 30.0, 1.5),
        point(dict(decoder_depth=1), 0.40, 20.0, 1.0),  # loses > 0.5 AP
        point(dict(test_top_k=1), 0.48, 35.0, 1.8),  # loses 2 AP
        point(dict(decoder_depth=1, test_top_k=1), 0.5, 1.0, 0.5),  # two
    ]
    savings = sweep_speed.savings_at_ap_drop(points, 0.5)
    assert savings['decoder_depth']['label'] == 'decoder_depth=2'
    assert savings['decoder_depth']['latency_saved'] == pytest.approx(0.25)
    assert savings['decoder_depth']['gflops_saved'] == pytest.approx(0.25)
    assert savings['test_top_k'] is None
    assert savings['decoder_depth']['latency_within_noise'] is None


def test_a_latency_saving_within_the_full_models_repeat_gap_is_noise():
    points = [
        dict(knobs={}, label='full', ap=0.5, latency_ms=40.0, gflops=2.0),
        dict(
            knobs=dict(decoder_exit=0.1),
            label='decoder_exit=0.1',
            ap=0.5,
            latency_ms=38.0,  # 5 % faster
            gflops=1.98),
        dict(
            knobs=dict(decoder_depth=2),
            label='decoder_depth=2',
            ap=0.5,
            latency_ms=30.0,  # 25 % faster
            gflops=1.5)
    ]
    savings = sweep_speed.savings_at_ap_drop(points, 0.5, latency_noise=0.06)
    assert savings['decoder_exit']['latency_within_noise'] is True
    assert savings['decoder_depth']['latency_within_noise'] is False
    summary = sweep_speed.seeds_savings(
        [dict(points=points, savings=savings, latency_noise=0.06)] * 2)
    assert summary['latency_noise']['mean'] == pytest.approx(0.06)
    assert summary['knobs']['decoder_exit']['within_noise'] == [True, True]
    table = sweep_speed.seeds_table(summary, 0.5)
    assert 'differed by 6.0 % +- 0.0 %' in table
    assert '| decoder_exit=0.1, decoder_exit=0.1 | 2 of 2 |' in table
    assert '| decoder_depth=2, decoder_depth=2 | 0 of 2 |' in table


def test_bisection_reaches_the_target_and_clamps_outside_the_range():

    def cost(u):  # falls from 10 to 4 as the knob gets more aggressive
        return 10 - 6 * u

    u, achieved, _ = calibrate_speed.bisect(cost, 7.0, 0.01, 20)
    assert achieved == pytest.approx(7.0, rel=0.01) and 0 < u < 1
    with pytest.warns(UserWarning, match='below the cheapest'):
        assert calibrate_speed.bisect(cost, 1.0, 0.01, 20)[:2] == (1.0, 4.0)
    with pytest.warns(UserWarning, match='no knob needed'):
        assert calibrate_speed.bisect(cost, 20.0, 0.01, 20)[:2] == (0.0, 10)


def test_exit_latency_is_read_off_the_decoder_layers_between_timings():

    def layers(u):  # 3 layers with the exit off, 1 at u=1, a step between
        return 3.0 if u == 0 else (2.0 if u < 0.5 else 1.0)

    cost = calibrate_speed.layer_cost_model(layers, {3.0: 30.0, 1.0: 20.0})
    assert cost(0.0) == 30.0 and cost(1.0) == 20.0
    assert cost(0.25) == pytest.approx(25.0)  # half-way in layers
    u, achieved, _ = calibrate_speed.bisect(cost, 25.0, 0.001, 20,
                                            (30.0, 20.0))
    assert achieved == pytest.approx(25.0) and 0 < u < 0.5
    # a timing at 2 layers bends the model there
    cost = calibrate_speed.layer_cost_model(layers, {
        3.0: 30.0,
        1.0: 20.0,
        2.0: 27.0
    })
    assert cost(0.25) == 27.0


@pytest.fixture
def tiny_moe(tiny_synthetic, tmp_path):
    cfg = tiny_cfg('moe/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py',
                   tiny_synthetic, str(tmp_path / 'work'))
    config = str(tmp_path / 'tiny_moe.py')
    cfg.dump(config)
    ckpt = save_initialised_checkpoint(cfg.model, str(tmp_path / 'tiny.pth'))
    return cfg, config, ckpt


@pytest.mark.slow
def test_sweep_counts_what_each_knob_skips_and_draws_the_front(
        tiny_moe, tmp_path):
    _, config, ckpt = tiny_moe
    out = str(tmp_path / 'sweep')
    summary, = sweep_speed.main([
        config, ckpt, '--knob', 'decoder_depth=none,1', '--knob',
        'test_top_k=none,1', '--max-images', '4', '--repeats', '1',
        '--flops-images', '1', '--out', out
    ])
    points = {p['label']: p for p in summary['points']}
    assert list(points) == [
        'full', 'test_top_k=1', 'decoder_depth=1',
        'decoder_depth=1, test_top_k=1'
    ]
    full = points['full']
    # fewer layers and fewer experts per token are fewer FLOPs
    assert points['decoder_depth=1']['gflops'] < full['gflops']
    assert points['test_top_k=1']['gflops'] < full['gflops']
    assert points['decoder_depth=1']['mean_decoder_layers'] == 1
    assert all(p['latency_ms'] > 0 and 'pareto_gflops' in p
               for p in points.values())
    assert all(p['static'] for p in points.values())
    # the full model's second timing gives the noise floor, not a point
    assert summary['latency_noise'] >= 0
    assert osp.isfile(osp.join(out, 'sweep.png'))
    with open(osp.join(out, 'sweep.json')) as f:
        assert len(json.load(f)['points']) == 4


def test_seeds_savings_average_each_knob_and_count_a_miss_as_zero():

    def run(full_ap, saved):
        return dict(
            points=[dict(ap=full_ap, latency_ms=20.0, gflops=1.0)],
            savings=dict(
                decoder_depth=None if saved is None else dict(
                    label='decoder_depth=2',
                    ap=full_ap,
                    latency_saved=saved,
                    gflops_saved=saved / 2)))

    summary = sweep_speed.seeds_savings(
        [run(0.50, 0.2), run(0.48, None),
         run(0.49, 0.1)])
    row = summary['knobs']['decoder_depth']
    assert row['settings'] == ['decoder_depth=2', None, 'decoder_depth=2']
    assert row['latency_saved']['mean'] == pytest.approx(0.1)
    assert row['gflops_saved']['mean'] == pytest.approx(0.05)
    assert row['latency_saved']['std'] == pytest.approx(0.1)
    assert summary['full']['ap']['mean'] == pytest.approx(0.49)
    assert '| `decoder_depth` | 10.0 % +- 10.0 % | 5.0 % +- 5.0 % | ' \
        'decoder_depth=2, none, decoder_depth=2 | - |' in \
        sweep_speed.seeds_table(summary, 0.5)


def test_an_earlier_sweep_json_stands_for_its_checkpoint_in_a_seeds_summary(
        tmp_path):
    config = 'configs/x.py'

    def earlier(name, full_ap, depth2_ap):
        points = [
            dict(
                knobs={},
                label='full',
                ap=full_ap,
                latency_ms=20.0,
                gflops=1.0),
            dict(
                knobs=dict(decoder_depth=2),
                label='decoder_depth=2',
                ap=depth2_ap,
                latency_ms=15.0,
                gflops=0.8)
        ]
        path = str(tmp_path / f'{name}.json')
        with open(path, 'w') as f:
            json.dump(
                dict(
                    config=config,
                    date='2026-12-02',
                    device='cpu',
                    points=points,
                    savings={}), f)
        return path

    runs = [earlier('a', 0.50, 0.497), earlier('b', 0.50, 0.490)]
    out = str(tmp_path / 'seeds')
    summaries = sweep_speed.main([config, *runs, '--out', out])
    # savings recomputed at --ap-drop: run a keeps its AP at depth 2, b not
    assert [s['savings']['decoder_depth'] is None for s in summaries] == \
        [False, True]
    with open(osp.join(out, 'seeds.json')) as f:
        row = json.load(f)['knobs']['decoder_depth']
    assert row['gflops_saved']['mean'] == pytest.approx(0.1)
    assert row['settings'] == ['decoder_depth=2', None]
    with pytest.raises(SystemExit, match='not of'):
        sweep_speed.main(['configs/y.py', runs[0], '--out', out])


@pytest.mark.slow
def test_sweep_over_seeds_writes_each_run_and_the_mean_savings(
        tiny_moe, tmp_path):
    cfg, config, ckpt = tiny_moe
    torch.manual_seed(1)  # a second "seed"
    ckpt2 = save_initialised_checkpoint(cfg.model, str(tmp_path / 'b.pth'))
    out = str(tmp_path / 'seeds')
    summaries = sweep_speed.main([
        config, ckpt, ckpt2, '--knob', 'test_top_k=none,1', '--max-images',
        '4', '--repeats', '1', '--flops-images', '1', '--ap-drop', '100',
        '--out', out
    ])
    assert [s['checkpoint'] for s in summaries] == [ckpt, ckpt2]
    for i in range(2):
        assert osp.isfile(osp.join(out, f'run{i}', 'sweep.json'))
    with open(osp.join(out, 'seeds.json')) as f:
        row = json.load(f)['knobs']['test_top_k']
    saved = [s['savings']['test_top_k']['gflops_saved'] for s in summaries]
    assert row['gflops_saved']['mean'] == pytest.approx(sum(saved) / 2)
    assert all(x > 0 for x in saved)  # top-1 skips half the expert FLOPs
    assert row['settings'] == ['test_top_k=1'] * 2
    assert 'run1: `' in open(osp.join(out, 'seeds.md')).read()


@pytest.mark.slow
def test_calibrated_knobs_are_written_and_applied_by_the_test_run(
        tiny_moe, tmp_path):
    cfg, config, ckpt = tiny_moe
    base = ['--max-images', '4', '--flops-images', '2', '--knob', 'test_top_p']
    args = calibrate_speed.parse_args(
        [config, ckpt, '--target-gflops', '1e6'] + base)
    with pytest.warns(UserWarning, match='no knob needed'):
        full = calibrate_speed.calibrate(args)['achieved']['gflops']
    args = calibrate_speed.parse_args([
        config, ckpt, '--target-gflops',
        str(full * 0.99), '--tolerance', '0.002'
    ] + base)
    result = calibrate_speed.calibrate(args)
    knobs = read_speed_file(speed_file(ckpt))
    assert 0 < knobs['test_top_p'] < 1
    assert result['achieved']['gflops'] == pytest.approx(
        full * 0.99, rel=0.005)
    # `tools/test.py CONFIG CKPT`: SpeedKnobsHook sets the file's knobs
    cfg.load_from = ckpt
    cfg.test_dataloader.dataset.indices = 2
    runner = Runner.from_cfg(cfg)
    runner.test()
    assert {m.test_top_p
            for _, m in moe_layers(runner.model)} == {knobs['test_top_p']}


def test_calibration_starts_from_the_front_points_above_the_target(tmp_path):

    def point(knobs, ap, ms, front=True):
        return dict(knobs=knobs, ap=ap, latency_ms=ms, pareto_latency_ms=front)

    sweep = tmp_path / 'sweep.json'
    sweep.write_text(
        json.dumps(
            dict(points=[
                point({}, 0.50, 30.0),
                point(dict(decoder_depth=2), 0.49, 25.0),
                point(dict(decoder_depth=1), 0.40, 20.0),
                point(dict(decoder_exit=0.1), 0.49, 26.0),  # continuous
                point(dict(test_top_k=1), 0.45, 28.0, front=False),
            ])))
    starts = calibrate_speed.candidates_from_sweep(
        str(sweep), 'latency_ms', 24.0)
    assert starts == [dict(decoder_depth=2), {}]
    # no knob reaching 22 ms from those: the best setting under it
    under = calibrate_speed.best_within(str(sweep), 'latency_ms', 22.0)
    assert under['knobs'] == dict(decoder_depth=1)
