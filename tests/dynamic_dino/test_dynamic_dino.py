"""Dynamic-DINO: MoE-Tuning of Grounding DINO on a tiny model, end to end."""
from __future__ import annotations

import copy
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.hooks import Hook
from mmengine.runner import Runner, load_checkpoint

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.models import MoEFFN
from helpers import (assert_same_val_predictions, load_tool,
                     save_initialised_checkpoint, tiny_cfg)

DENSE = 'dynamic_dino/grounding-dino_r18-tiny_3e_synthetic-mixed.py'
MOE = 'dynamic_dino/dynamic-dino_r18-tiny-n4k2_1e_synthetic-mixed.py'
DENSE_FT = 'dynamic_dino/grounding-dino_r18-tiny-ft_1e_synthetic-mixed.py'


@pytest.fixture(scope='module')
def dense_checkpoint(tiny_synthetic, tmp_path_factory) -> str:
    """A randomly initialised tiny dense Grounding DINO, saved."""
    work = tmp_path_factory.mktemp('dense')
    cfg = tiny_cfg(DENSE, tiny_synthetic, str(work))
    torch.manual_seed(0)
    return save_initialised_checkpoint(cfg.model, str(work / 'dense.pth'))


def test_moe_tuned_grounding_dino_starts_with_the_dense_predictions(
        tiny_synthetic, dense_checkpoint, tmp_path):
    cfg = tiny_cfg(DENSE, tiny_synthetic, str(tmp_path))
    dense = MODELS.build(copy.deepcopy(cfg.model))
    load_checkpoint(dense, dense_checkpoint, strict=True)
    moe_cfg = tiny_cfg(MOE, tiny_synthetic, str(tmp_path))
    moe = MODELS.build(copy.deepcopy(moe_cfg.model))
    load_checkpoint(moe, dense_checkpoint, strict=True)
    assert all(
        isinstance(moe.get_submodule(n), MoEFFN)
        for n in moe.moe_ffn_names) and len(moe.moe_ffn_names) == 3
    assert_same_val_predictions(dense, cfg, moe, moe_cfg)


def _params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


class Snapshot(Hook):
    """Parameters once the run has initialised and loaded the model."""

    def before_train(self, runner) -> None:
        self.params = _params(runner.model)


def test_dense_control_freezes_the_same_parts_around_dense_ffns(
        tiny_synthetic, tmp_path):
    model = MODELS.build(
        tiny_cfg(DENSE_FT, tiny_synthetic, str(tmp_path)).model)
    assert model.moe_ffn_names == []
    tops = {
        n.rsplit('.ffn.', 1)[0] if '.ffn.' in n else n.split('.')[0]
        for n, p in model.named_parameters() if p.requires_grad
    }
    assert tops == {
        'bbox_head', 'encoder', 'decoder.layers.0', 'decoder.layers.1',
        'decoder.layers.2'
    }
    assert all(
        n.startswith(('bbox_head.', 'encoder.fusion_layers.')) or '.ffn.' in n
        for n, p in model.named_parameters() if p.requires_grad)


@pytest.mark.slow
def test_moe_tuning_trains_only_the_trainable_parts_and_resumes(
        tiny_synthetic, dense_checkpoint, tmp_path):
    config = MOE
    cfg = tiny_cfg(config, tiny_synthetic, str(tmp_path))
    cfg.load_from = dense_checkpoint
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=1, val_interval=100)
    runner = Runner.from_cfg(cfg)
    snapshot = Snapshot()
    runner.register_hook(snapshot)
    runner.train()
    before, after = snapshot.params, _params(runner.model)
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    trainable = {
        n
        for n, p in runner.model.named_parameters() if p.requires_grad
    }
    assert changed and changed <= trainable
    assert any(n.startswith('bbox_head.') for n in changed)
    assert not any(
        n.startswith(('backbone.', 'language_model.')) for n in trainable)
    assert any('.ffn.moe.router' in n for n in changed)
    assert 'decoder.layers.0.ffn.moe.experts.w1' in trainable
    # Resume the tuning run from its checkpoint and go one iteration on.
    cfg2 = tiny_cfg(config, tiny_synthetic, str(tmp_path))
    cfg2.resume = True
    cfg2.load_from = str(tmp_path / 'iter_1.pth')
    cfg2.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    runner2 = Runner.from_cfg(cfg2)
    runner2.train()
    assert runner2.iter == 2 and osp.isfile(tmp_path / 'iter_2.pth')


def test_trainable_pattern_that_matches_nothing_is_a_clear_error(
        tiny_synthetic, tmp_path):
    cfg = tiny_cfg(MOE, tiny_synthetic, str(tmp_path))
    cfg.model.trainable = ['moe', 'bbox_heads.*']
    with pytest.raises(
            ValueError,
            match=r"'bbox_heads\.\*' matches no "
            r"parameter.*'bbox_head'"):
        MODELS.build(copy.deepcopy(cfg.model))
    cfg.model.moe_cfg = None
    cfg.model.trainable = ['moe']
    with pytest.raises(ValueError, match='no MoE layer'):
        MODELS.build(copy.deepcopy(cfg.model))


def test_convert_and_analyze_tools(tiny_synthetic, dense_checkpoint, tmp_path,
                                   capsys):
    cfg = tiny_cfg(MOE, tiny_synthetic, str(tmp_path))
    cfg_file = str(tmp_path / 'moe.py')
    cfg.dump(cfg_file)
    out = str(tmp_path / 'moe.pth')
    load_tool('convert_dense_to_moe').main([cfg_file, dense_checkpoint, out])
    state = torch.load(out, map_location='cpu', weights_only=False)
    assert state['state_dict']['decoder.layers.2.ffn.moe.experts.w1'].shape \
        == (8, 256, 512)
    assert state['meta']['upcycled_from'] == dense_checkpoint

    summary, = load_tool('analyze_experts').main([
        cfg_file, out, '--out',
        str(tmp_path / 'analysis'), '--max-images', '3'
    ])
    files = set(
        map(osp.basename,
            __import__('glob').glob(str(tmp_path / 'analysis' / '*'))))
    for layer in ('decoder_layers_0', 'decoder_layers_2'):
        assert f'{layer}_load.png' in files
        assert f'{layer}_coactivation.png' in files
        # At the upcycled start every token uses the two slices of one copy:
        # each expert has exactly one partner (fixed teams of two).
        assert summary[layer]['mean_team_size'] == pytest.approx(1.0)
    assert 'partners.md' in files and 'summary.json' in files
    assert '| e0 |' in open(tmp_path / 'analysis' / 'partners.md').read()

    # Several checkpoints (seeds): one folder each and a table over them.
    second = str(tmp_path / 'moe-b.pth')
    torch.save(state, second)
    load_tool('analyze_experts').main([
        cfg_file, out, second, '--out',
        str(tmp_path / 'seeds'), '--max-images', '2'
    ])
    assert osp.isfile(tmp_path / 'seeds' / 'run1' / 'summary.json')
    table = open(tmp_path / 'seeds' / 'team_sizes.md').read()
    assert '| decoder_layers_2 | 1.00 | 1.00 | 1.00 +- 0.00 (2) |' in table


def test_analysis_runs_the_model_its_cfg_options_describe(
        tiny_synthetic, tmp_path):
    # A checkpoint trained with a width set on the command line is analysed
    # with the same override; without it the checkpoint does not fit.
    cfg = tiny_cfg(MOE, tiny_synthetic, str(tmp_path))
    cfg.load_from = None
    cfg_file = str(tmp_path / 'moe.py')
    cfg.dump(cfg_file)
    key = 'model.decoder.layer_cfg.ffn_cfg.feedforward_channels'
    narrow = copy.deepcopy(cfg)
    narrow.merge_from_dict({key: 256})
    torch.manual_seed(0)
    ckpt = save_initialised_checkpoint(narrow.model,
                                       str(tmp_path / 'narrow.pth'))
    analyze = load_tool('analyze_experts').main
    summary, = analyze([
        cfg_file, ckpt, '--out',
        str(tmp_path / 'narrow'), '--max-images', '1', '--cfg-options',
        f'{key}=256'
    ])
    assert summary['decoder_layers_2']['experts_used'] > 0
    with pytest.raises(ValueError, match='does not match the config'):
        analyze([
            cfg_file, ckpt, '--out',
            str(tmp_path / 'wide'), '--max-images', '1'
        ])


def test_team_size_is_partners_covering_the_coverage_then_seed_spread():
    from mmdet_dynmoe.dynamic_dino import summarize_layer, team_size_table
    load = torch.tensor([10., 10., 10., 10.])
    # expert 0 pairs with 1 only; experts 2 and 3 split over two partners
    co = torch.tensor([[0., 10., 0., 0.], [10., 0., 0., 0.], [0., 0., 0., 10.],
                       [0., 0., 10., 0.]])
    fixed = summarize_layer(load, co)
    co_mixed = torch.tensor([[0., 5., 5., 0.], [5., 0., 0., 5.],
                             [5., 0., 0., 5.], [0., 5., 5., 0.]])
    mixed = summarize_layer(load, co_mixed)
    assert fixed['mean_team_size'] == 1.0 and mixed['mean_team_size'] == 2.0
    table = team_size_table([dict(l0=fixed), dict(l0=mixed)], ['s0', 's1'])
    assert '| l0 | 1.00 | 2.00 | 1.50 +- 0.71 (2) |' in table
    assert '1.00 (1 run)' in team_size_table([dict(l0=fixed)], ['s0'])
    with pytest.raises(ValueError, match='as many names'):
        team_size_table([dict(l0=fixed)], ['s0', 's1'])


def test_text_prompt_longer_than_the_encoder_limit_is_refused(
        tiny_synthetic, tmp_path):
    from types import SimpleNamespace

    from mmdet.registry import HOOKS
    cfg = tiny_cfg(DENSE, tiny_synthetic, str(tmp_path))
    model = MODELS.build(cfg.model)
    hook = HOOKS.build(dict(type='TextPromptLengthHook'))

    def runner_with(classes):
        dataset = SimpleNamespace(metainfo=dict(classes=classes))
        loader = SimpleNamespace(dataset=dataset)
        return SimpleNamespace(
            model=model,
            train_dataloader=loader,
            val_dataloader=loader,
            test_dataloader=loader)

    hook.before_train(runner_with(('red circle', 'blue square')))  # fits
    long_names = tuple(f'striped purple hexagon number {i}' for i in range(60))
    with pytest.raises(
            ValueError,
            match=r'train text prompt \(the 60 class '
            r'names joined\) is \d+ tokens, more than .*'
            r'max_tokens=256'):
        hook.before_train(runner_with(long_names))
    with pytest.warns(UserWarning, match='test text prompt'):
        hook.before_test(runner_with(long_names))
    lenient = HOOKS.build(dict(type='TextPromptLengthHook', strict=False))
    with pytest.warns(UserWarning, match='train text prompt'):
        lenient.before_train(runner_with(long_names))
    # a ConcatDataset's datasets each prompt with their own names
    concat = SimpleNamespace(datasets=[
        SimpleNamespace(metainfo=dict(classes=('red circle', ))),
        SimpleNamespace(metainfo=dict(classes=long_names))
    ])
    with pytest.raises(ValueError, match='the 60 class names'):
        hook.before_train(
            SimpleNamespace(
                model=model, train_dataloader=SimpleNamespace(dataset=concat)))
