"""FLOPs and parameters of a DynamicDet config's two inference paths.

Path 1: backbone 1 + router + detector 1; path 2: backbone 1 + router +
backbone 2 + detector 2 (mmengine's FlopAnalyzer, fvcore-style counting:
one multiply-add = one FLOP). Weights are random (no checkpoint needed);
a two-stage detector's count depends on its number of proposals, which
random weights put at ``test_cfg.rpn.max_per_img``.

Example::

    python tools/dynamicdet_flops.py \
        configs/dynamicdet/dynamicdet-retinanet_r50_fpn_1x_coco.py --shape 800 1344
"""
from __future__ import annotations

import argparse
import logging

import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import mmdet_dynmoe  # noqa: F401  (registers DynamicDet)
from mmdet_dynmoe.dynamicdet import path_flops
from mmdet_dynmoe.engine import load_model

#: parameters that only path 2 uses.
PATH2_ONLY = ('backbone.backbone2', 'backbone.connections', 'detector2')


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[128, 128],
        metavar=('H', 'W'),
        help='padded input size')
    args = parser.parse_args(argv)
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    init_default_scope('mmdet')
    shape = tuple(args.shape)
    print('| config | input (WxH) | GFLOPs path 1 | GFLOPs path 2 | ratio '
          '| params path 1 (M) | params total (M) |')
    print('|---|---|---|---|---|---|---|')
    for config in args.configs:
        cfg = Config.fromfile(config)
        cfg.model.backbone.init_cfg = None  # weights do not change FLOPs
        model = load_model(cfg).model
        total = sum(p.numel() for p in model.parameters())
        path1 = sum(p.numel() for n, p in model.named_parameters()
                    if not n.startswith(PATH2_ONLY))
        meta = dict(
            img_shape=shape,
            ori_shape=shape,
            pad_shape=shape,
            batch_input_shape=shape,
            scale_factor=(1.0, 1.0))
        with torch.no_grad():
            flops = path_flops(model, torch.randn(1, 3, *shape),
                               [DetDataSample(metainfo=meta)])
        print(f'| {config.split("/")[-1]} | {shape[1]}x{shape[0]} | '
              f'{flops[1] / 1e9:.2f} | {flops[2] / 1e9:.2f} | '
              f'{flops[2] / flops[1]:.2f} | {path1 / 1e6:.1f} | '
              f'{total / 1e6:.1f} |')


if __name__ == '__main__':
    main()
