"""Scene-group usage per domain of every hierarchical MoE layer (HI-MoE).

Runs the config's val set, records which expert groups each image's scene
router keeps, and writes ``scene_groups.png`` (one domain x group heatmap
per layer) and ``scene_groups.json`` (usage shares and each layer's domain
separation: 0 = all domains use the groups alike, 1 = disjoint groups).
Images need a ``domain`` in their data info (the synthetic benchmark has
one; for other datasets pass ``--key``).

    python tools/analyze_scene_groups.py CONFIG CHECKPOINT --out DIR
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', default='work_dirs/scene_groups')
    p.add_argument(
        '--key',
        default='domain',
        help='data-info key that names an image\'s domain')
    p.add_argument('--max-images', type=int, default=None)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def plot(layers: dict, path: str) -> None:
    from mmdet_dynmoe.visualization import heatmap_row
    heatmap_row([
        dict(
            values=info['usage'],
            rows=info['domains'],
            title=f'{name}\nseparation {info["separation"]:.2f}')
        for name, info in layers.items()
    ],
                path,
                xlabel='expert group',
                colorbar_label='share of images',
                panel_size=(3.2, 3.0))


def main(argv=None) -> dict:
    args = parse_args(argv)
    import mmdet_dynmoe  # noqa: F401
    from mmdet_dynmoe.engine import val_with_routing_stats
    from mmdet_dynmoe.hi_moe import (HierarchicalRouter, domain_separation,
                                     group_usage_by_domain)

    def per_image_groups(layer) -> bool:
        return isinstance(layer.router, HierarchicalRouter) and \
            layer.router.group_routing == 'image'

    runner, _, layers, metrics = val_with_routing_stats(
        args.config,
        args.checkpoint,
        args.out,
        per_image=True,
        max_images=args.max_images,
        select=per_image_groups,
        what='MoE layer whose scene router picks groups per image',
        cfg_options=args.cfg_options)
    dataset = runner.val_dataloader.dataset
    domains = [
        str(dataset.get_data_info(i).get(args.key))
        for i in range(len(dataset))
    ]
    result = {}
    for name, layer in layers:
        names, usage = group_usage_by_domain(layer.stats.as_dict()['images'],
                                             domains, layer.router.num_groups)
        result[name.replace('.ffn.moe', '')] = dict(
            domains=names,
            usage=usage.tolist(),
            separation=domain_separation(usage))
    os.makedirs(args.out, exist_ok=True)
    plot(result, osp.join(args.out, 'scene_groups.png'))
    with open(osp.join(args.out, 'scene_groups.json'), 'w') as f:
        json.dump(dict(metrics=metrics, layers=result), f, indent=2)
    for name, info in result.items():
        print(f'{name}: domain separation {info["separation"]:.3f}')
        for d, row in zip(info['domains'], info['usage']):
            print(f'  {d:>10s} ' + ' '.join(f'{v:.2f}' for v in row))
    print(f'wrote scene_groups.png and scene_groups.json to {args.out}')
    return result


if __name__ == '__main__':
    main()
