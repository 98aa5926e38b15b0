"""Per-image early exit from the decoder and the speed-knob settings."""
from __future__ import annotations

import copy

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.dataset import pseudo_collate

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.engine.speed_knobs import (apply_speed_knobs,
                                             current_speed_knobs, speed_knobs)

MOE_DINO = 'moe/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py'
#: MoEGroundingDINO: the decoder also reads the text, the classes are
#: contrastive against it
DYNAMIC_DINO = 'dynamic_dino/dynamic-dino_r18-tiny-n4k2_1e_synthetic-mixed.py'


def _model_and_batch(tiny_synthetic, tmp_path, images=4, config=MOE_DINO):
    from helpers import tiny_cfg
    cfg = tiny_cfg(config, tiny_synthetic, str(tmp_path))
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.eval()
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    samples = [dataset[i] for i in range(images)]
    return model, samples


def _predict(model, samples):
    batch = model.data_preprocessor(pseudo_collate(samples), False)
    with torch.no_grad():
        return model.predict(batch['inputs'], batch['data_samples'])


def _layer_changes(model, samples) -> torch.Tensor:
    """(B,) largest change of a query's best class probability from layer 1
    to layer 2 (the early-exit criterion), from a full-depth run."""
    batch = model.data_preprocessor(pseudo_collate(samples), False)
    samples = batch['data_samples']
    with torch.no_grad():
        feats = model.extract_feat(batch['inputs'])
        if hasattr(model, 'language_model'):  # as GroundingDINO.predict
            captions = []
            for sample in samples:
                positive_map, caption, _, _ = \
                    model.get_tokens_positive_and_prompts(sample.text, True)
                sample.token_positive_map = positive_map
                captions.append(caption)
            text = model.language_model(captions)
            if model.text_feat_map is not None:
                text['embedded'] = model.text_feat_map(text['embedded'])
            out = model.forward_transformer(feats, text, samples)
            extra = (out['memory_text'], out['text_token_mask'])
        else:
            out = model.forward_transformer(feats, samples)
            extra = ()
        probs = [
            model.bbox_head.cls_branches[lid](out['hidden_states'][lid],
                                              *extra).sigmoid().amax(-1)
            for lid in (0, 1)
        ]
    return (probs[1] - probs[0]).abs().amax(-1)


def _assert_same(got, want):
    for a, b in zip(got, want):
        torch.testing.assert_close(a.pred_instances.bboxes,
                                   b.pred_instances.bboxes)
        torch.testing.assert_close(a.pred_instances.scores,
                                   b.pred_instances.scores)
        assert torch.equal(a.pred_instances.labels, b.pred_instances.labels)


@pytest.mark.parametrize('config', [MOE_DINO, DYNAMIC_DINO])
def test_early_exit_at_zero_threshold_equals_the_full_decoder(
        tiny_synthetic, tmp_path, config):
    model, samples = _model_and_batch(tiny_synthetic, tmp_path, config=config)
    full = _predict(model, samples)
    model.test_cfg['decoder_exit'] = 0.0
    _assert_same(_predict(model, samples), full)
    assert model.last_decoder_layers.tolist() == [3] * len(samples)


@pytest.mark.parametrize('config', [MOE_DINO, DYNAMIC_DINO])
def test_early_exit_per_image_equals_that_image_alone_at_its_depth(
        tiny_synthetic, tmp_path, config):
    model, samples = _model_and_batch(tiny_synthetic, tmp_path, config=config)
    changes = _layer_changes(model, samples).sort().values
    # a threshold between the images' layer-1 -> 2 changes: some leave
    # after layer 2 (or 1), the others run all 3 layers
    tau = float(changes[1] + changes[2]) / 2
    model.test_cfg['decoder_exit'] = tau
    exits = _predict(model, samples)
    layers = model.last_decoder_layers.tolist()
    assert 3 in layers and min(layers) < 3, layers
    model.test_cfg['decoder_exit'] = None
    for i, depth in enumerate(layers):
        model.test_cfg['decoder_depth'] = depth
        _assert_same([exits[i]], _predict(model, [samples[i]]))
    # tau = 1: every image leaves after layer 1 (its proposals' scores are
    # the layer-0 predictions), which is decoder_depth=1
    model.test_cfg.update(decoder_exit=1.0, decoder_depth=None)
    exits = _predict(model, samples)
    assert model.last_decoder_layers.tolist() == [1] * len(samples)
    model.test_cfg.update(decoder_exit=None, decoder_depth=1)
    _assert_same(exits, _predict(model, samples))


def test_decoder_exit_out_of_range_names_the_key_and_range(
        tiny_synthetic, tmp_path):
    model, samples = _model_and_batch(tiny_synthetic, tmp_path, images=1)
    model.test_cfg['decoder_exit'] = 1.5
    with pytest.raises(ValueError, match=r'decoder_exit=1.5 .*\[0, 1\]'):
        _predict(model, samples)


def test_speed_knobs_are_checked_and_set_on_every_moe_layer(
        tiny_synthetic, tmp_path):
    model, samples = _model_and_batch(tiny_synthetic, tmp_path, images=1)
    assert set(speed_knobs(model)) == {
        'decoder_depth', 'decoder_exit', 'test_top_k', 'test_top_p'
    }
    apply_speed_knobs(model, dict(decoder_depth=2, test_top_k=1))
    assert current_speed_knobs(model)['decoder_depth'] == 2
    assert all(m.test_top_k == 1 for m in model.modules()
               if hasattr(m, 'test_top_k'))
    with pytest.raises(ValueError, match=r'test_top_k=3 .*\[1, top_k=2\]'):
        apply_speed_knobs(model, dict(test_top_k=3))
    with pytest.raises(ValueError, match=r'decoder_depth=4 .*\[1, 3\]'):
        apply_speed_knobs(model, dict(decoder_depth=4))
    with pytest.raises(ValueError, match=r"'threshold' does not exist"):
        apply_speed_knobs(model, dict(threshold=0.5))
