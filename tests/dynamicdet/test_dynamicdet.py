"""DynamicDet: cascade backbone, router, two-step training, routing."""
from __future__ import annotations

import copy
import json
import os.path as osp
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, METRICS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import BaseMetric
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.dynamicdet import (CascadeBackbone, DifficultyRouter,
                                     DynamicDetector, RunningMedian,
                                     hard_ratio_for_latency, route_hard,
                                     router_loss, threshold_for_hard_ratio)
from helpers import REPO_ROOT, load_tool, tiny_cfg

CONFIGS = osp.join(REPO_ROOT, 'configs', 'dynamicdet')
ONE_STAGE = 'dynamicdet/dynamicdet-retinanet_r18-tiny_3e_synthetic-mixed.py'
TWO_STAGE = 'dynamicdet/dynamicdet-faster-rcnn_r18-tiny_3e_synthetic-mixed.py'
TINY_RESNET = dict(
    type='ResNet',
    depth=18,
    base_channels=8,
    out_indices=(1, 2, 3),
    norm_eval=False,
    init_cfg=None)


def _shrunk(model_cfg):
    model_cfg.backbone.base_channels = 8  # faster: the plumbing is the same
    model_cfg.neck.in_channels = [c // 4 for c in model_cfg.neck.in_channels]
    return model_cfg


def _model_cfg(config: str = ONE_STAGE):
    return _shrunk(
        Config.fromfile(osp.join(REPO_ROOT, 'configs', config)).model)


def _build(config: str = ONE_STAGE, **overrides) -> DynamicDetector:
    model_cfg = _model_cfg(config)
    model_cfg.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def _batch(data_root: str, model, training: bool, num: int = 2):
    cfg = tiny_cfg(ONE_STAGE, data_root, '/tmp/unused')
    dataset = DATASETS.build(cfg.train_dataloader.dataset if training else cfg.
                             val_dataloader.dataset)
    samples = [dataset[i % len(dataset)] for i in range(num)]
    return model.data_preprocessor(pseudo_collate(samples), training)


# -- cascade backbone ---------------------------------------------------------


def test_composite_connections_reach_same_and_lower_stages_with_shapes():
    cascade = CascadeBackbone(TINY_RESNET, zero_init_connections=False)
    # Stage l receives levels l..3 of backbone 1, projected to its input.
    assert [len(c) for c in cascade.connections] == [4, 3, 2, 1]
    stage_in = [8, 8, 16, 32]  # stem, then levels 0..2 (BasicBlock, 8 base)
    for level, per_stage in enumerate(cascade.connections):
        for offset, conn in enumerate(per_stage):
            assert conn[0].in_channels == cascade.level_channels[level +
                                                                 offset]
            assert conn[0].out_channels == stage_in[level]
            assert conn[0].kernel_size == (1, 1)
    x = torch.randn(2, 3, 64, 96)
    first = cascade.forward_first(x)
    assert [tuple(f.shape) for f in first] == [(2, 8, 16, 24), (2, 16, 8, 12),
                                               (2, 32, 4, 6), (2, 64, 2, 3)]
    out1, out2 = cascade(x)
    assert [f.shape for f in out1] == [f.shape for f in first[1:]]
    assert [f.shape for f in out2] == [f.shape for f in out1]
    assert cascade.out_channels == (16, 32, 64)


def test_backbone2_output_depends_on_every_backbone1_level():
    cascade = CascadeBackbone(TINY_RESNET, zero_init_connections=False)
    cascade.init_weights()
    cascade.eval()
    x = torch.randn(1, 3, 64, 64)
    first = [f.detach().requires_grad_() for f in cascade.forward_first(x)]
    out2 = cascade.forward_second(x, first)
    sum(o.sum() for o in out2).backward()
    for level, feat in enumerate(first):
        assert feat.grad is not None and feat.grad.abs().sum() > 0, level
    # ... and the highest level reaches even the first stage's output.
    changed = list(first)
    changed[3] = first[3] + 1.0
    with torch.no_grad():
        assert not torch.allclose(
            cascade.forward_second(x, changed)[0], out2[0])


def test_zero_initialised_connections_start_backbone2_as_plain_backbone():
    cascade = CascadeBackbone(TINY_RESNET)  # CBNetV2's zero init (default)
    cascade.init_weights()
    cascade.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        _, out2 = cascade(x)
        plain = cascade.backbone2(x)  # ResNet.forward: no composition
    for composed, alone in zip(out2, plain):
        torch.testing.assert_close(composed, alone)


@pytest.mark.parametrize('detector', ['faster-rcnn', 'retinanet'])
def test_live_connections_config_starts_backbone2_reading_backbone1(detector):
    model = _build(f'dynamicdet/dynamicdet-{detector}_r18-tiny-live-'
                   'connections_3e_synthetic-mixed.py')
    norms = [
        conn[-1].weight for per in model.backbone.connections for conn in per
    ]
    assert all(bool((w != 0).all()) for w in norms)
    assert all(not bool(w.any())
               for per in _build(TWO_STAGE).backbone.connections
               for w in (conn[-1].weight for conn in per))


def test_deep_stem_resnet_variant_is_supported():
    cascade = CascadeBackbone(
        dict(TINY_RESNET, type='ResNetV1d', stem_channels=8))
    cascade.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _, out2 = cascade(x)
        plain = cascade.backbone2(x)
    assert [o.shape for o in out2] == [p.shape for p in plain]


@pytest.mark.parametrize('backbone', [
    dict(type='RegNet', arch='regnetx_400mf'),
    dict(
        type='SwinTransformer',
        embed_dims=32,
        depths=(1, 1, 1, 1),
        num_heads=(1, 1, 1, 1)),
])
def test_unsupported_backbone_is_a_clear_error(backbone):
    with pytest.raises(
            ValueError,
            match=f"type='{backbone['type']}' is not "
            r'supported.*ResNet-family'):
        CascadeBackbone(backbone)


# -- router -------------------------------------------------------------------


def test_router_scores_one_easiness_per_image_like_the_reference():
    router = DifficultyRouter([16, 32, 64])
    feats = [torch.randn(5, c, s, s) for c, s in ((16, 8), (32, 4), (64, 2))]
    scores = router(feats)
    assert scores.shape == (5, ) and ((scores > 0) & (scores < 1)).all()
    assert router.fc1.out_features == (16 + 32 + 64) // 4
    # Reference: GAP every level, concatenate, FC-ReLU-FC-sigmoid.
    pooled = torch.cat([f.flatten(2).mean(-1) for f in feats], 1)
    hidden = torch.relu(pooled @ router.fc1.weight.T + router.fc1.bias)
    reference = torch.sigmoid(hidden @ router.fc2.weight.T +
                              router.fc2.bias)[:, 0]
    torch.testing.assert_close(scores, reference)
    with pytest.raises(ValueError, match='expects 3 levels'):
        router(feats[:2])


# -- step 1 / step 2 through the runner ---------------------------------------


def _tiny_runner_cfg(config: str, data_root: str, work_dir: str):
    """``tiny_cfg`` with the narrow backbone and no val during training."""
    cfg = tiny_cfg(config, data_root, work_dir)
    cfg.model = _shrunk(cfg.model)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None  # test once
    return cfg


@pytest.mark.parametrize('config', [ONE_STAGE, TWO_STAGE])
def test_step1_then_step2_train_and_test_one_and_two_stage(
        config, tiny_synthetic, tmp_path):
    model = _build(config)
    data = _batch(tiny_synthetic, model, training=True)
    losses = model(**data, mode='loss')
    assert {k.split('.')[0] for k in losses} == {'d1', 'd2'}
    assert {k[3:] for k in losses if k.startswith('d1.')} == \
        {k[3:] for k in losses if k.startswith('d2.')}
    assert any('loss' in k for k in losses)
    assert all(
        torch.isfinite(sum(v) if isinstance(v, list) else v).all()
        for v in losses.values())

    runner = Runner.from_cfg(
        _tiny_runner_cfg(config, tiny_synthetic, str(tmp_path / 'step1')))
    runner.train()
    metrics = runner.test()  # DynamicDetReportHook adds its figures
    assert metrics['dynamicdet/threshold'] == 0.5
    assert 0.0 <= metrics['dynamicdet/hard_ratio'] <= 1.0
    # the model's predict time alone, within the whole iteration's time
    assert 0 < metrics['dynamicdet/latency_ms'] < \
        metrics['dynamicdet/latency_wall_ms']
    assert 0 < metrics['dynamicdet/gflops_path1'] < \
        metrics['dynamicdet/gflops_path2']
    ckpt = str(tmp_path / 'step1' / 'iter_2.pth')
    step1_state = torch.load(ckpt, weights_only=False)['state_dict']

    step2 = _tiny_runner_cfg(
        config.replace('_3e_', '_router-1e_'), tiny_synthetic,
        str(tmp_path / 'step2'))
    assert step2.model.step == 2
    assert step2.custom_hooks == [
        dict(type='RouterStepHook'),
        dict(type='DynamicDetReportHook')
    ]
    step2.load_from = ckpt
    runner = Runner.from_cfg(step2)
    runner.train()
    state = runner.model.state_dict()
    changed = {
        k.split('.')[0]
        for k, v in state.items() if v.dtype.is_floating_point
        and k in step1_state and not torch.equal(v, step1_state[k])
    }
    # Only the router trained (BN statistics included); the loss-gap history
    # is the new buffer of step 2.
    assert changed == {'difficulty_router', 'loss_gap'}
    assert len(runner.model.loss_gap) == 4  # 2 iterations x 2 images


@pytest.mark.parametrize('warmup', [0, 1])
def test_test_latency_leaves_out_the_warm_up_batches(warmup, tiny_synthetic,
                                                     tmp_path, monkeypatch):
    from mmdet_dynmoe.dynamicdet import report_hook
    cfg = _tiny_runner_cfg(ONE_STAGE, tiny_synthetic, str(tmp_path))
    for hook in cfg.custom_hooks:
        if hook['type'] == 'DynamicDetReportHook':
            hook.update(warmup=warmup, flops=False)
    runner = Runner.from_cfg(cfg)
    # the hook's clock moves only by what each predict "costs": 1 s for the
    # first batch, 20 ms for each other one
    clock = [0.0]
    monkeypatch.setattr(report_hook, 'time',
                        SimpleNamespace(perf_counter=lambda: clock[0]))

    def cost(module, args, kwargs, output):  # inside the hook's timing
        if kwargs.get('mode') == 'predict':
            clock[0] += 1.0 if clock[0] == 0 else 0.02

    runner.model.register_forward_hook(cost, with_kwargs=True)
    metrics = runner.test()  # 12 images, 6 batches of 2
    expected = 10.0 if warmup else 1000 * (1.0 + 5 * 0.02) / 12
    assert metrics['dynamicdet/latency_ms'] == pytest.approx(expected)
    assert metrics['dynamicdet/latency_wall_ms'] == pytest.approx(expected)


def test_step2_freezes_all_but_router_and_keeps_the_rest_in_eval():
    model = _build(step=2)
    trainable = {
        n.split('.')[0]
        for n, p in model.named_parameters() if p.requires_grad
    }
    assert trainable == {'difficulty_router'}
    model.train()
    assert model.difficulty_router.training
    for name, module in model.named_modules():
        if name and not name.startswith('difficulty_router'):
            assert not module.training, name
    # Step 1 trains both detectors and leaves the unused router alone.
    step1 = _build(step=1)
    frozen = {
        n.split('.')[0]
        for n, p in step1.named_parameters() if not p.requires_grad
    }
    assert frozen == {'difficulty_router'}


def test_router_loss_matches_hand_computed_value_with_running_median():
    median = RunningMedian()
    assert median.update(torch.tensor([2.0, 0.0, -1.0])) == 0.0
    offset = median.update(torch.tensor([4.0, 5.0]))  # [-1, 0, 2, 4, 5]
    assert offset == 2.0
    score = torch.tensor([0.25, 0.75], requires_grad=True)
    loss1, loss2 = torch.tensor([5.0, 1.0]), torch.tensor([1.0, 2.0])
    loss = router_loss(score, loss1, loss2, offset)
    # image 0: .25 * (5 - 1) + .75 * (1 + 1) = 2.5
    # image 1: .75 * (1 - 1) + .25 * (2 + 1) = 0.75
    assert loss.item() == pytest.approx((2.5 + 0.75) / 2)
    loss.backward()  # d/d score = ((L1 - D/2) - (L2 + D/2)) / 2 images
    torch.testing.assert_close(score.grad, torch.tensor([1.0, -1.5]))


def test_model_router_step_uses_per_image_losses_and_median_offset(
        tiny_synthetic, monkeypatch):
    model = _build(step=2)
    model.load_state_dict(model.state_dict())  # "the step-1 checkpoint"
    given = {
        id(model.detector1): torch.tensor([3.0, 1.0]),
        id(model.detector2): torch.tensor([1.0, 2.0])
    }
    monkeypatch.setattr(
        DynamicDetector, 'per_image_losses',
        staticmethod(lambda det, feats, samples: given[id(det)]))
    model.loss_gap.update(torch.tensor([-3.0, 10.0, 10.0]))  # seen before
    data = _batch(tiny_synthetic, model, training=True)
    out = model(**data, mode='loss')
    # gaps so far: [-3, 10, 10] + [2, -1] -> median 2
    assert out['router_offset'] == 2.0
    with torch.no_grad():
        first = model.backbone.forward_first(data['inputs'])
        score = model.router_scores(first)
    expected = (score * (given[id(model.detector1)] - 1) + (1 - score) *
                (given[id(model.detector2)] + 1)).mean()
    torch.testing.assert_close(out['loss_router'], expected)
    assert out['loss_router'].requires_grad


def test_real_per_image_losses_are_each_image_alone(tiny_synthetic):
    model = _build(step=1)
    data = _batch(tiny_synthetic, model, training=True)
    feats = model.backbone.select_outputs(
        model.backbone.forward_first(data['inputs']))
    model.eval()  # BN on running statistics: per-image features are fixed
    with torch.no_grad():
        per_image = model.per_image_losses(model.detector1, feats,
                                           data['data_samples'])
        alone = model.detector1.parse_losses(
            model.detector1.loss(
                tuple(f[1:2] for f in feats), data['data_samples'][1:2]))[0]
    assert per_image.shape == (2, ) and not per_image.requires_grad
    torch.testing.assert_close(per_image[1], alone)


@pytest.mark.parametrize('router_config,deterministic', [
    ('dynamicdet-faster-rcnn_r18-tiny_router-1e_synthetic-mixed.py', False),
    ('dynamicdet-faster-rcnn_r18-tiny_router-1e-allsamples_synthetic-mixed.py',
     True)
])
def test_two_stage_router_targets_are_deterministic_only_with_all_samples(
        tiny_synthetic, router_config, deterministic):
    model = _build(f'dynamicdet/{router_config}', step=1).eval()
    data = _batch(tiny_synthetic, model, training=True)
    gaps = []
    for seed in (0, 1):  # mmdet's samplers draw from torch's RNG
        torch.manual_seed(seed)
        with torch.no_grad():
            _, loss1, loss2 = model.per_image_path_losses(
                data['inputs'], data['data_samples'])
        gaps.append(loss1 - loss2)
    assert torch.equal(gaps[0], gaps[1]) == deterministic


def test_loss_gap_history_survives_checkpoint_round_trip():
    model = _build(step=2)
    model.loss_gap.update(torch.tensor([0.5, -2.0, 3.0, 1.0]))
    resumed = _build(step=2)
    resumed.load_state_dict(model.state_dict())
    torch.testing.assert_close(resumed.loss_gap.history,
                               model.loss_gap.history)
    assert resumed.loss_gap.median() == 0.5
    assert resumed._step1_loaded


def test_step2_without_step1_checkpoint_is_refused(tiny_synthetic, tmp_path):
    model = _build(step=2)
    data = _batch(tiny_synthetic, model, training=True)
    with pytest.raises(RuntimeError, match='no step-1 checkpoint was loaded'):
        model(**data, mode='loss')
    cfg = tiny_cfg(
        ONE_STAGE.replace('_3e_', '_router-1e_'), tiny_synthetic,
        str(tmp_path))
    cfg.load_from = None
    with pytest.raises(ValueError, match='load_from=None, set load_from'):
        Runner.from_cfg(cfg).train()
    cfg.load_from = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='missing.pth.*does not exist'):
        Runner.from_cfg(cfg).train()


# -- dynamic inference --------------------------------------------------------


def _predictable(model: DynamicDetector) -> DynamicDetector:
    """Random heads that predict many distinct-score boxes, in eval mode."""
    for det in (model.detector1, model.detector2):
        torch.nn.init.normal_(det.bbox_head.retina_cls.weight, std=0.2)
        det.bbox_head.retina_cls.bias.data.zero_()
        det.bbox_head.test_cfg.max_per_img = 20
    # Spread the router's scores so that a threshold splits the batch.
    torch.nn.init.normal_(model.difficulty_router.fc2.weight, std=5.0)
    return model.eval()


def _predict(model, data, threshold):
    model.threshold = threshold
    with torch.no_grad():
        samples = copy.deepcopy(data['data_samples'])
        return model.predict(data['inputs'], samples)


def test_batched_dynamic_inference_equals_chosen_detector_per_image(
        tiny_synthetic):
    model = _predictable(_build(zero_init_connections=False))
    data = _batch(tiny_synthetic, model, training=False, num=4)
    with torch.no_grad():
        scores = model.router_scores(
            model.backbone.forward_first(data['inputs']))
    threshold = float(scores.median())  # splits the 4 images 2 / 2
    hard = route_hard(scores, threshold)
    assert 0 < hard.sum() < 4
    batched = _predict(model, data, threshold)
    assert [s.img_id for s in batched] == \
        [s.img_id for s in data['data_samples']]  # input order
    for i, result in enumerate(batched):
        assert result.routed_to == (2 if hard[i] else 1)
        assert result.router_score == pytest.approx(float(scores[i]))
        alone = dict(
            inputs=data['inputs'][i:i + 1],
            data_samples=data['data_samples'][i:i + 1])
        # the chosen detector alone: threshold 1 -> detector 2, 0 -> 1
        reference = _predict(model, alone, 1.0 if hard[i] else 0.0)[0]
        assert len(result.pred_instances) > 0
        torch.testing.assert_close(
            result.pred_instances.bboxes,
            reference.pred_instances.bboxes,
            atol=1e-3,
            rtol=1e-4)
        torch.testing.assert_close(
            result.pred_instances.scores,
            reference.pred_instances.scores,
            atol=1e-4,
            rtol=1e-4)
    # The two paths really differ, so the comparison above can fail.
    d1, d2 = _predict(model, data, 0.0)[0], _predict(model, data, 1.0)[0]
    assert not torch.allclose(d1.pred_instances.scores[:5],
                              d2.pred_instances.scores[:5])


def test_thresholds_0_and_1_send_every_image_to_one_detector(tiny_synthetic):
    model = _predictable(_build())
    data = _batch(tiny_synthetic, model, training=False, num=3)
    assert {s.routed_to for s in _predict(model, data, 0.0)} == {1}
    assert {s.routed_to for s in _predict(model, data, 1.0)} == {2}


def test_static_paths_predict_what_the_dynamic_model_does_at_0_and_1(
        tiny_synthetic):
    model = _predictable(_build(zero_init_connections=False))
    data = _batch(tiny_synthetic, model, training=False, num=3)
    for path, threshold in ((1, 0.0), (2, 1.0)):
        with torch.no_grad():
            static = model.predict_path(data['inputs'],
                                        copy.deepcopy(data['data_samples']),
                                        path)
        for alone, routed in zip(static, _predict(model, data, threshold)):
            assert len(alone.pred_instances) > 0
            torch.testing.assert_close(alone.pred_instances.bboxes,
                                       routed.pred_instances.bboxes)
    with pytest.raises(ValueError, match='path=3 must be 1 or 2'):
        model.predict_path(data['inputs'], data['data_samples'], 3)


class _ScoreSum(BaseMetric):
    """Sum and count of predicted scores: differs between the two paths."""

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            scores = sample['pred_instances']['scores']
            self.results.append((float(scores.sum()), len(scores)))

    def compute_metrics(self, results) -> dict:
        return dict(
            score_sum=sum(r[0] for r in results),
            boxes=sum(r[1] for r in results))


def _validate(cfg, model_state, loop: dict, threshold: float) -> dict:
    cfg = copy.deepcopy(cfg)
    cfg.val_cfg = loop
    runner = Runner.from_cfg(cfg)
    runner.model.load_state_dict(model_state)
    runner.model.threshold = threshold
    return runner.val()


def test_step1_validation_scores_each_detector_alone(tiny_synthetic, tmp_path):
    METRICS.register_module('_ScoreSum', module=_ScoreSum, force=True)
    cfg = tiny_cfg(ONE_STAGE, tiny_synthetic, str(tmp_path))
    cfg.model = _shrunk(cfg.model)
    assert cfg.val_cfg.type == 'StaticPathsValLoop'
    cfg.val_evaluator = [cfg.val_evaluator, dict(type='_ScoreSum')]
    model = _predictable(_build(zero_init_connections=False))
    state = model.state_dict()

    metrics = _validate(cfg, state, dict(type='StaticPathsValLoop'), 0.5)
    for path, threshold in ((1, 0.0), (2, 1.0)):
        alone = _validate(cfg, state, dict(type='ValLoop'), threshold)
        for key in ('score_sum', 'boxes', 'coco/bbox_mAP'):
            assert metrics[f'd{path}/{key}'] == pytest.approx(alone[key])
    assert metrics['d1/score_sum'] != pytest.approx(metrics['d2/score_sum'])
    assert metrics['d2-d1/score_sum'] == pytest.approx(
        metrics['d2/score_sum'] - metrics['d1/score_sum'])
    assert not any('/' not in k or k.startswith('coco') for k in metrics)


@pytest.mark.parametrize('value', [-0.1, 1.5, float('nan')])
def test_threshold_outside_0_1_is_a_clear_error(value):
    with pytest.raises(ValueError, match=r'threshold=.* must lie in \[0, 1\]'):
        _build(threshold=value)
    model = _build()
    with pytest.raises(ValueError, match=r'must lie in \[0, 1\]'):
        model.threshold = value


def test_unknown_step_or_detector_type_is_a_clear_error():
    with pytest.raises(ValueError, match=r'step=3 must be one of \(1, 2\)'):
        _build(step=3)
    with pytest.raises(ValueError, match="detector_type='Retina' must name"):
        _build(detector_type='Retina')


# -- calibration maths --------------------------------------------------------


def test_hard_ratio_for_latency_interpolates_and_clamps_with_warning():
    assert hard_ratio_for_latency(12.5, 10.0, 20.0) == pytest.approx(0.25)
    with pytest.warns(
            UserWarning,
            match=r'outside \[lat1, lat2\].*clamped'
            r'.*to 1 \(every image to detector 2\)'):
        assert hard_ratio_for_latency(30.0, 10.0, 20.0) == 1.0
    with pytest.warns(UserWarning, match='to 0 .*detector 1'):
        assert hard_ratio_for_latency(5.0, 10.0, 20.0) == 0.0
    with pytest.raises(ValueError, match='must be slower'):
        hard_ratio_for_latency(15.0, 20.0, 10.0)


def test_latency_curve_is_inverted_piecewise_linearly_and_flattened():
    from mmdet_dynmoe.dynamicdet import hard_ratio_for_latency_curve as inv
    assert inv(15.0, {0.0: 10.0, 1.0: 20.0}) == pytest.approx(0.5)
    # a timed midpoint bends the curve: 15 ms now lies at 0.5 * 5 / 7
    assert inv(15.0, {0.0: 10.0, 0.5: 17.0, 1.0: 20.0}) == \
        pytest.approx(0.5 * 5 / 7)
    # a noisy dip (0.5 timed faster than 0) is flattened, not inverted
    assert inv(9.0, {0.0: 10.0, 0.5: 9.0, 1.0: 20.0}) == 0.0
    assert inv(25.0, {0.0: 10.0, 1.0: 20.0}) == 1.0


def test_threshold_for_hard_ratio_sends_that_fraction_to_detector2():
    scores = torch.rand(200, generator=torch.Generator().manual_seed(0))
    for ratio in np.linspace(0, 1, 11):
        threshold = threshold_for_hard_ratio(scores, ratio)
        assert 0.0 <= threshold <= 1.0
        sent = route_hard(scores, threshold).float().mean().item()
        assert sent == pytest.approx(round(ratio * 200) / 200)
    with pytest.raises(ValueError, match='hard ratio 1.2'):
        threshold_for_hard_ratio(scores, 1.2)


def test_tied_router_scores_warn_that_the_ratio_cannot_be_reached():
    scores = torch.tensor([0.1, 0.2] + [0.52] * 6 + [0.8, 0.9])
    with pytest.warns(
            UserWarning,
            match=r'6 of 10 images share the router '
            r'score 0.52: the threshold sends 2 \(20.0%\) to '
            r'detector 2 instead of 5'):
        threshold = threshold_for_hard_ratio(scores, 0.5)
    assert route_hard(scores, threshold).sum() == 2
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # reachable ratios stay silent
        threshold_for_hard_ratio(scores, 0.2)
        threshold_for_hard_ratio(scores, 0.8)


# -- paper-scale configs ---------------------------------------------------------


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory) -> str:
    """Two random images with boxes in COCO's folder and annotation layout."""
    import mmcv
    from mmdet.datasets import CocoDataset
    root = tmp_path_factory.mktemp('coco')
    rng = np.random.default_rng(0)
    categories = [
        dict(id=i + 1, name=name)
        for i, name in enumerate(CocoDataset.METAINFO['classes'])
    ]
    for split in ('train2017', 'val2017'):
        images, annotations = [], []
        for i in range(2):
            name = f'{i:012d}.jpg'
            mmcv.imwrite(
                rng.integers(0, 255, (96, 128, 3), dtype=np.uint8),
                str(root / split / name))
            images.append(dict(id=i + 1, file_name=name, width=128, height=96))
            annotations.append(
                dict(
                    id=i + 1,
                    image_id=i + 1,
                    iscrowd=0,
                    category_id=i + 1,
                    area=40.0 * 30,
                    bbox=[10.0 + i, 20.0, 40.0, 30.0]))
        (root / 'annotations').mkdir(exist_ok=True)
        (root / 'annotations' / f'instances_{split}.json').write_text(
            json.dumps(
                dict(
                    images=images,
                    annotations=annotations,
                    categories=categories)))
    return str(root) + '/'


@pytest.mark.parametrize('config', [
    'dynamicdet-retinanet_r50_fpn_1x_coco.py',
    'dynamicdet-faster-rcnn_r50_fpn_1x_coco.py',
])
def test_paper_scale_config_builds_and_trains_a_step_on_coco_layout(
        config, tiny_coco, tmp_path):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'
    cfg.model.backbone.init_cfg = None  # no model hub here
    cfg.train_dataloader.dataset.data_root = tiny_coco
    for t in cfg.train_dataloader.dataset.pipeline:
        if t.type == 'Resize':
            t.scale = (64, 64)  # CPU: the layout matters, not the size
    if 'roi_head' in cfg.model:  # CPU: fewer RoIs through the 1024-d FCs
        cfg.model.train_cfg.rpn_proposal.max_per_img = 64
        cfg.model.train_cfg.rcnn.sampler.num = 32
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert type(model).__name__ == 'DynamicDetector'
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 2
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.detector2.neck.lateral_convs[0].conv.weight.clone()
    log_vars = model.train_step(
        pseudo_collate([dataset[0], dataset[1]]), optim_wrapper)
    assert {'d1.loss_cls', 'd2.loss_cls', 'loss'} <= set(log_vars)
    assert torch.isfinite(log_vars['loss'])
    assert not torch.equal(model.detector2.neck.lateral_convs[0].conv.weight,
                           before)
    step2 = Config.fromfile(
        osp.join(CONFIGS, config.replace('_1x_', '_router-1e_')))
    assert step2.model.step == 2 and step2.load_from.endswith('epoch_12.pth')


# -- calibration and sweep tools ----------------------------------------------


@pytest.mark.slow
def test_calibrated_threshold_reaches_test_and_sweep_plots_every_ratio(
        tiny_synthetic, tmp_path, monkeypatch):
    from mmdet_dynmoe.engine.speed_knobs import read_speed_file, speed_file
    model = _predictable(_build())  # boxes to evaluate
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    config = osp.join(REPO_ROOT, 'configs', ONE_STAGE)
    options = [
        f'val_dataloader.dataset.data_root={tiny_synthetic}',
        f'val_evaluator.ann_file={tiny_synthetic}/annotations/mixed_val.json',
        'model.backbone.base_channels=8', 'model.neck.in_channels=[16,32,64]'
    ]
    calibrate = load_tool('calibrate_dynamicdet')
    result = calibrate.calibrate(
        calibrate.parse_args([
            config, ckpt, '--hard-ratio', '0.34', '--repeats', '1',
            '--cfg-options', *options
        ]))
    assert result['lat1_ms'] > 0 and result['lat2_ms'] > 0
    assert result['num_images'] == 12  # 3 val images x 4 domains
    assert read_speed_file(
        speed_file(ckpt)) == dict(threshold=result['threshold'])
    # Past the slow path: clamped with a warning (latencies fixed here, the
    # tiny model's two paths are too close to order reliably under load).
    monkeypatch.setattr(calibrate, 'measure_path_latencies', lambda *args:
                        (10.0, 20.0))
    with pytest.warns(UserWarning, match=r'outside \[lat1, lat2\]'):
        clamped = calibrate.calibrate(
            calibrate.parse_args([
                config, ckpt, '--target-latency', '1e6', '--out',
                str(tmp_path / 'clamped.json'), '--cfg-options', *options
            ]))
    assert clamped['hard_ratio'] == 1.0 and clamped['threshold'] == 1.0

    # A latency curve that is not the straight line (10 + 10 k^2 ms at hard
    # ratio k): the first, linear guess misses by 17 %; the timed
    # corrections land on the nearest ratio the 12 images allow (8/12).
    def curved(model, batches, thresholds, repeats=3, progress=None):
        with torch.no_grad():
            scores = torch.cat([
                model.router_scores(model.backbone.forward_first(b['inputs']))
                for b in batches
            ])
        return [
            10 + 10 * float(route_hard(scores, t).double().mean())**2
            for t in thresholds
        ]

    monkeypatch.setattr(calibrate, 'measure_threshold_latencies', curved)
    aimed = calibrate.calibrate(
        calibrate.parse_args([
            config, ckpt, '--target-latency', '15', '--tolerance', '0.05',
            '--out',
            str(tmp_path / 'aimed.json'), '--cfg-options', *options
        ]))
    first = aimed['timings'][0]['latency_ms']
    assert abs(first / 15 - 1) > 0.1 and len(aimed['timings']) > 1
    assert aimed['hard_ratio'] == pytest.approx(8 / 12)
    assert abs(aimed['checked_latency_ms'] / 15 - 1) < 0.05

    # `tools/test.py CONFIG CKPT` applies the calibrated threshold.
    cfg = _tiny_runner_cfg(ONE_STAGE, tiny_synthetic, str(tmp_path / 'test'))
    cfg.load_from = ckpt
    metrics = Runner.from_cfg(cfg).test()
    assert metrics['dynamicdet/threshold'] == result['threshold']
    assert metrics['dynamicdet/hard_ratio'] == pytest.approx(1 / 3)

    sweep = load_tool('sweep_dynamicdet')
    out = str(tmp_path / 'sweep')
    torch.manual_seed(1)  # a second "seed": another router
    torch.nn.init.normal_(model.difficulty_router.fc2.weight, std=5.0)
    ckpt2 = str(tmp_path / 'tiny-seed1.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt2)
    summaries = sweep.main([  # 4 images: 11 ratios x (2 + 2 random) evals
        config, ckpt, ckpt2, '--out', out, '--max-images', '4', '--repeats',
        '1', '--random-draws', '2', '--cfg-options', *options,
        'val_dataloader.batch_size=4'
    ])
    summary = summaries[0]
    rows = summary['rows']
    # the seeds summary: means over the two runs, learned - random paired
    seeds = json.load(open(osp.join(out, 'seeds.json')))
    for i, row in enumerate(seeds['rows']):
        aps = [s['rows'][i]['ap'] for s in summaries]
        rand = [s['rows'][i]['random_router_ap'] for s in summaries]
        assert row['ap']['mean'] == pytest.approx(np.mean(aps))
        assert row['learned_minus_random']['mean'] == pytest.approx(
            np.mean(aps) - np.mean(rand))
    assert osp.isfile(osp.join(out, 'run1', 'sweep.json'))
    assert '| 50% |' in open(osp.join(out, 'seeds.md')).read()
    assert osp.getsize(osp.join(out, 'seeds.png')) > 1000
    assert [r['hard_ratio'] for r in rows] == [i / 10 for i in range(11)]
    assert rows[0]['measured_hard_ratio'] == 0.0
    assert rows[-1]['measured_hard_ratio'] == 1.0
    assert all(a['measured_hard_ratio'] <= b['measured_hard_ratio']
               for a, b in zip(rows, rows[1:]))
    assert all(r['latency_ms'] > 0 for r in rows)
    gflops = [r['gflops'] for r in rows]
    assert gflops[0] < gflops[-1] and gflops == sorted(gflops)
    assert osp.getsize(osp.join(out, 'run0', 'sweep.png')) > 1000
    assert -1.0 <= summary['spearman_easiness_difficulty'] <= 1.0
    # The oracle ranks by the true loss gap; its ends are the static paths.
    assert rows[0]['oracle_router_ap'] == rows[0]['ap']
    assert rows[-1]['oracle_router_ap'] == rows[-1]['ap']
    assert -1.0 <= summary['spearman_easiness_loss_gap'] <= 1.0
    for band in summary['bands'].values():
        assert band['num_images'] > 0 and 0 <= band['to_detector2_at_50'] <= 1
    assert summary['date'] and 'threads' in summary['device']
    # Earlier sweeps stand for their checkpoints (nothing is swept again);
    # a recipe against a reference is paired run by run: against itself in
    # swapped order the paired differences cancel in the mean.
    runs = [osp.join(out, f'run{i}', 'sweep.json') for i in range(2)]
    again = sweep.main([
        config, *runs, '--reference', runs[1], runs[0], '--out',
        str(tmp_path / 'again')
    ])
    assert again == [json.load(open(p)) for p in runs]
    ref = json.load(open(tmp_path / 'again' / 'seeds.json'))['reference']
    for i, row in enumerate(ref['rows']):
        a0, a1 = (s['rows'][i]['ap'] for s in summaries)
        assert row['minus_reference']['mean'] == pytest.approx(0.0, abs=1e-12)
        assert row['minus_reference']['std'] == pytest.approx(
            abs(a0 - a1) * 2**0.5)
    assert 'this - reference (paired)' in open(tmp_path / 'again' /
                                               'seeds.md').read()
    with pytest.raises(SystemExit):  # one reference for two runs
        sweep.main([config, *runs, '--reference', runs[0]])
    with pytest.raises(SystemExit, match='is a sweep of'):
        sweep.main([osp.join(REPO_ROOT, 'configs', TWO_STAGE), *runs])


def test_batch_benchmark_times_both_sizes_at_one_routing(
        tiny_synthetic, tmp_path):
    model = _predictable(_build())
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    bench = load_tool('benchmark_dynamicdet')
    out = str(tmp_path / 'bench.json')
    result = bench.benchmark(
        bench.parse_args([
            osp.join(REPO_ROOT, 'configs', ONE_STAGE), ckpt, '--batch-sizes',
            '1', '3', '--max-images', '5', '--repeats', '1', '--out', out,
            '--cfg-options', f'val_dataloader.dataset.data_root='
            f'{tiny_synthetic}', 'model.backbone.base_channels=8',
            'model.neck.in_channels=[16,32,64]'
        ]))
    assert result['num_images'] == 5  # batches of 3 trimmed to 5 images
    rows = {(r['batch_size'], r['setting']): r for r in result['rows']}
    assert len(rows) == 10
    for size in (1, 3):
        assert rows[(size, 'dynamic, 0 % hard')]['hard_ratio'] == 0.0
        assert rows[(size, 'dynamic, 100 % hard')]['hard_ratio'] == 1.0
        # each size's own threshold reaches the ratio: round(2.5) of 5
        assert rows[(size, 'dynamic, 50 % hard')]['hard_ratio'] == 2 / 5
        assert all(r['images_per_s'] > 0 for r in result['rows'])
    assert result['speedup'][1] == 1.0
    assert json.load(open(out))['rows'] == result['rows']
    with pytest.raises(SystemExit):
        bench.parse_args([ONE_STAGE, '--hard-ratio', '1.5'])


def test_paired_comparison_calls_a_difference_only_beyond_the_spread():
    from mmdet_dynmoe.evaluation import paired_comparison
    gain = paired_comparison([0.52, 0.55, 0.53], [0.50, 0.51, 0.50])
    assert gain['verdict'] == 'gain'
    assert gain['mean'] == pytest.approx(0.03)
    assert gain['std'] == pytest.approx(0.01)
    assert 0 < gain['p'] < 0.05  # t = 0.03 / (0.01 / sqrt 3) = 5.2
    noise = paired_comparison([0.52, 0.49, 0.53], [0.50, 0.51, 0.50])
    assert noise['verdict'] == 'no difference'  # +0.01 +- 0.026
    assert paired_comparison([0.4, 0.4], [0.5, 0.5])['verdict'] == 'loss'
    assert paired_comparison([0.5], [0.4])['verdict'] == 'one run'
    with pytest.raises(ValueError, match='same seeds'):
        paired_comparison([0.5, 0.4], [0.4])


def test_spearman_gives_tied_scores_their_mean_rank():
    from mmdet_dynmoe.evaluation import spearman

    # Four tied scores say nothing about their order: ranks 2.5 each.
    assert spearman([.3, .3, .3, .3, .9], [5, 4, 3, 2, 1]) == \
        pytest.approx(-1 / 2**0.5)
    assert spearman([.5] * 4, [1, 2, 3, 4]) == 0.0  # collapsed router
    assert spearman([.1, .2, .3], [3, 2, 1]) == pytest.approx(-1.0)


def test_largest_fraction_marks_the_largest_values():
    from mmdet_dynmoe.dynamicdet.routing_evaluation import largest_fraction
    values = torch.tensor([0.3, -1.0, 2.0, 0.5])
    assert largest_fraction(values, 0.5) == [False, False, True, True]
    assert largest_fraction(values, 0.0) == [False] * 4
    assert largest_fraction(values, 1.0) == [True] * 4


def _val_dataset(data_root: str, pipeline: list):
    cfg = tiny_cfg(ONE_STAGE, data_root, '/tmp/unused')
    return DATASETS.build(dict(cfg.val_dataloader.dataset, pipeline=pipeline))


def test_loss_gaps_of_a_test_pipeline_match_training_scaled_boxes(
        tiny_synthetic):
    from mmdet_dynmoe.dynamicdet.routing_evaluation import per_image_loss_gaps
    model = _build().eval()
    cfg = tiny_cfg(ONE_STAGE, tiny_synthetic, '/tmp/unused')
    for pipeline in (cfg.train_pipeline, cfg.test_pipeline):
        for t in pipeline:
            if t['type'] == 'Resize':
                t['scale'] = (96, 96)  # gt must follow the image
    test_style = _val_dataset(tiny_synthetic, cfg.test_pipeline)
    train_style = _val_dataset(tiny_synthetic, cfg.train_pipeline)
    assert test_style[0]['data_samples'].scale_factor != (1.0, 1.0)
    batches = [
        model.data_preprocessor(
            pseudo_collate([ds[i] for i in range(3)]), False)
        for ds in (test_style, train_style)
    ]
    gaps = per_image_loss_gaps(model, batches[:1])
    with torch.no_grad():
        first = model.backbone.forward_first(batches[1]['inputs'])
        expected = model.per_image_losses(
            model.detector1, model.backbone.select_outputs(first),
            batches[1]['data_samples']) - model.per_image_losses(
                model.detector2,
                model.backbone.forward_second(batches[1]['inputs'], first),
                batches[1]['data_samples'])
    torch.testing.assert_close(gaps, expected)
    # No ground truth in the samples: no oracle.
    no_gt = [t for t in cfg.test_pipeline if t['type'] != 'LoadAnnotations']
    batch = model.data_preprocessor(
        pseudo_collate([_val_dataset(tiny_synthetic, no_gt)[0]]), False)
    assert per_image_loss_gaps(model, [batch]) is None


def test_evaluate_choice_scores_only_the_images_it_is_given(tiny_synthetic):
    from types import SimpleNamespace

    from mmdet_dynmoe.dynamicdet.routing_evaluation import (PathResults,
                                                            evaluate_choice)
    cfg = tiny_cfg(ONE_STAGE, tiny_synthetic, '/tmp/unused')
    dataset = _val_dataset(tiny_synthetic, cfg.test_pipeline)
    results, perfect = PathResults(), 4
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        boxes = torch.tensor([o['bbox'] for o in info['instances']],
                             dtype=torch.float32).view(-1, 4)
        labels = torch.tensor([o['bbox_label'] for o in info['instances']])
        gt = SimpleNamespace(
            bboxes=boxes, labels=labels, scores=torch.ones(len(labels)))
        miss = SimpleNamespace(
            bboxes=boxes[:0], labels=labels[:0], scores=torch.ones(0))
        results.samples.append(
            dict(
                img_id=info['img_id'],
                ori_shape=(info['height'], info['width'])))
        # Detector 1 is perfect on the first images only, detector 2 never.
        results.preds[1].append(gt if i < perfect else miss)
        results.preds[2].append(miss)
    n = len(dataset)
    first = [i < perfect for i in range(n)]
    ap = evaluate_choice(
        cfg, dataset.metainfo, results, [False] * n,
        subset=first)['coco/bbox_mAP']
    assert ap == pytest.approx(1.0)
    everyone = evaluate_choice(cfg, dataset.metainfo, results,
                               [False] * n)['coco/bbox_mAP']
    assert everyone < 0.9  # the misses on the other images count
    assert evaluate_choice(
        cfg, dataset.metainfo, results, [True] * n,
        subset=first).get('coco/bbox_mAP', 0.0) == 0.0


def test_former_router_key_and_checkpoints_still_load():
    with pytest.warns(DeprecationWarning, match='difficulty_router'):
        old = _build(step=1, router=dict(reduction=2))
    assert old.difficulty_router.fc1.out_features == \
        sum(old.difficulty_router.in_channels) // 2
    with pytest.raises(ValueError, match='not also its former name'):
        _build(step=1, router=dict(), difficulty_router=dict())
    with torch.no_grad():  # so that only loading can make them equal
        old.difficulty_router.fc1.weight.add_(1.0)
    # a checkpoint written before the rename names the module 'router'
    new_name = 'difficulty_router.'
    state = {
        ('router.' + k[len(new_name):] if k.startswith(new_name) else k): v
        for k, v in old.state_dict().items()
    }
    assert any(k.startswith('router.') for k in state)
    new = _build(step=1, difficulty_router=dict(reduction=2))
    new.load_state_dict(state, strict=True)
    for key, value in old.state_dict().items():
        assert torch.equal(new.state_dict()[key], value), key


def test_difficulty_router_reads_the_levels_it_is_given():
    model = _build(step=1, difficulty_router=dict(levels=(2, )))
    assert model.router_levels == (2, )
    assert model.difficulty_router.in_channels == (
        model.backbone.level_channels[2], )
    with pytest.raises(ValueError, match=r'levels=\(9,\) must be backbone'):
        _build(step=1, difficulty_router=dict(levels=(9, )))


@pytest.mark.parametrize('config', [
    'dynamicdet-faster-rcnn_r18-tiny_router-official_synthetic-mixed.py',
    'dynamicdet-faster-rcnn_r50_fpn_router-official_coco.py'
])
def test_official_router_recipe_steps_once_per_64_images(config):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    assert cfg.model.step == 2
    assert cfg.model.difficulty_router.levels == (0, 1, 2, 3)
    assert cfg.train_cfg.max_epochs == 2
    assert cfg.train_dataloader.batch_size * \
        cfg.optim_wrapper.accumulative_counts == 64
    torch.manual_seed(0)
    router = DifficultyRouter([8, 16])
    wrapper = build_optim_wrapper(router, copy.deepcopy(cfg.optim_wrapper))
    optimizer = wrapper.optimizer
    assert type(optimizer).__name__ == 'AdamW'
    assert optimizer.defaults['betas'] == (0.937, 0.999)
    decay = {
        tuple(g['params'][0].shape): g['weight_decay']
        for g in optimizer.param_groups
    }
    assert decay[(6, 24)] == 0.005 and decay[(6, )] == 0.0  # no bias decay
    wrapper.initialize_count_status(router, 0, 1000)
    feats = [torch.randn(1, 8, 4, 4), torch.randn(1, 16, 2, 2)]
    start = router.fc1.weight.detach().clone()
    for image in range(64):  # one image per iteration
        assert torch.equal(router.fc1.weight, start), image
        wrapper.update_params(router(feats).sum())
    assert not torch.equal(router.fc1.weight, start)  # one router step
    scheduler = cfg.param_scheduler[0]
    assert scheduler.type == 'LinearLR' and scheduler.end == 1000
    assert not scheduler.by_epoch
    cfg.model.backbone.init_cfg = None  # no model hub here
    model = MODELS.build(cfg.model)
    channels = model.backbone.level_channels
    assert model.difficulty_router.in_channels == tuple(channels)  # all


# -- DETR detectors: DynamicDet's threshold with the decoder knobs ------------

DETR = 'dynamicdet/dynamicdet-dino_r18-tiny_3e_synthetic-mixed.py'


@pytest.mark.slow
def test_dino_detectors_train_and_take_the_decoder_knobs_with_threshold(
        tiny_synthetic, tmp_path):
    from mmdet_dynmoe.engine.speed_knobs import (apply_speed_knobs,
                                                 current_speed_knobs,
                                                 speed_knobs)
    cfg = tiny_cfg(DETR, tiny_synthetic, str(tmp_path))
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    runner = Runner.from_cfg(cfg)
    runner.train()  # step 1: both DINOs' losses
    model = runner.model
    assert set(
        speed_knobs(model)) == {'decoder_depth', 'decoder_exit', 'threshold'}
    data = _batch(tiny_synthetic, model, training=False, num=3)
    model.eval()

    def predict(knobs):
        apply_speed_knobs(model, knobs)
        with torch.no_grad():
            return model.predict(data['inputs'],
                                 copy.deepcopy(data['data_samples']))

    # every image to detector 2, which stops after decoder layer 1
    hard_short = predict(dict(threshold=1.0, decoder_depth=1))
    assert {s.routed_to for s in hard_short} == {2}
    assert model.detector2.last_decoder_layers.tolist() == [1, 1, 1]
    assert model.detector1.test_cfg['decoder_depth'] == 1  # both detectors
    assert current_speed_knobs(model)['decoder_depth'] == 1
    # the exit at tau=1 is depth 1 here too; full settings give detector 2
    exit_all = predict(dict(decoder_depth=None, decoder_exit=1.0))
    for a, b in zip(hard_short, exit_all):
        torch.testing.assert_close(a.pred_instances.scores,
                                   b.pred_instances.scores)
    full = predict(dict(decoder_exit=None))
    assert model.detector2.last_decoder_layers.tolist() == [3, 3, 3]
    assert not torch.equal(full[0].pred_instances.scores,
                           hard_short[0].pred_instances.scores)
    with pytest.raises(ValueError, match='decoder_depth'):
        apply_speed_knobs(model, dict(decoder_depth=4))
    # test time: DynamicDetReportHook's figures for DINO paths
    metrics = runner.test()
    assert 0 < metrics['dynamicdet/gflops_path1'] < \
        metrics['dynamicdet/gflops_path2']
