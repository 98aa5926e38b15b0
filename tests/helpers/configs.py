"""Configs shrunk for tests, tools loaded as modules, saved checkpoints."""
from __future__ import annotations

import os.path as osp

#: the repository root (tests/helpers/configs.py -> ../..).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def tiny_dino_cfg(data_root: str, work_dir: str, ann_prefix: str = 'mixed'):
    """The demo config shrunk to a few iterations on ``data_root``."""
    return tiny_cfg('baseline/dino_r18-tiny_3e_synthetic-mixed.py', data_root,
                    work_dir, ann_prefix)


def tiny_cfg(config: str,
             data_root: str,
             work_dir: str,
             ann_prefix: str = 'mixed'):
    """``configs/<config>`` shrunk to a few iterations on ``data_root``."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    cfg.work_dir = work_dir
    for split, loader in (('train', cfg.train_dataloader),
                          ('val', cfg.val_dataloader), ('val',
                                                        cfg.test_dataloader)):
        loader.dataset.data_root = data_root
        loader.dataset.ann_file = f'annotations/{ann_prefix}_{split}.json'
        loader.batch_size = 2
        loader.num_workers = 0
        loader.persistent_workers = False
    for ev in (cfg.val_evaluator, cfg.test_evaluator):
        ev.ann_file = osp.join(data_root, 'annotations',
                               f'{ann_prefix}_val.json')
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False)
    cfg.log_level = 'WARNING'
    return cfg


def _first_val_predictions(model, cfg, num: int) -> list:
    import torch
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    data = model.data_preprocessor(
        pseudo_collate([dataset[i] for i in range(num)]), False)
    model.eval()
    with torch.no_grad():
        return [(p.pred_instances.bboxes, p.pred_instances.scores)
                for p in model(**data, mode='predict')]


def assert_same_val_predictions(model_a,
                                cfg_a,
                                model_b,
                                cfg_b,
                                num: int = 2) -> None:
    """Both models give the same boxes and scores (to 1e-4) on the first
    ``num`` images of their configs' val sets, and detect something."""
    import torch
    for (box_a, score_a), (box_b, score_b) in zip(
            _first_val_predictions(model_a, cfg_a, num),
            _first_val_predictions(model_b, cfg_b, num)):
        assert len(score_a) > 0
        torch.testing.assert_close(score_b, score_a, rtol=0, atol=1e-4)
        torch.testing.assert_close(box_b, box_a, rtol=0, atol=1e-4)


def load_tool(name: str):
    """The module ``tools/<name>.py`` (the tools are scripts, not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO_ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_initialised_checkpoint(model_cfg, path: str) -> str:
    """Build ``model_cfg``, run its ``init_weights`` and save it as a
    checkpoint at ``path`` (what analysis tools load)."""
    import copy

    import torch
    from mmdet.registry import MODELS
    model = MODELS.build(copy.deepcopy(model_cfg))
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def synthetic_dataset(data_root: str,
                      ann_file: str = 'annotations/studio_val.json',
                      pipeline=()):
    """A ``SyntheticCocoDataset`` of ``data_root`` (no pipeline by default)."""
    from mmdet.registry import DATASETS
    return DATASETS.build(
        dict(
            type='SyntheticCocoDataset',
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=dict(img=''),
            pipeline=list(pipeline)))
