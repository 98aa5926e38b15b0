"""Routing purity and expert load per dataset of a DAMEX-style model.

Runs the config's val set (a ``DatasetMixture``) *without* dataset ids
reaching the router, and reports, per MoE layer, how each dataset's tokens
spread over the experts (``expert_load.png``: a dataset x expert heatmap of
slot shares) and, when the model has a ``dataset_experts`` map, the routing
purity: the share of each dataset's tokens routed to its own expert(s).

    python tools/analyze_dataset_routing.py CONFIG CHECKPOINT --out DIR
"""
from __future__ import annotations

import argparse
import bisect
import json
import os
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', default='work_dirs/dataset_routing')
    return p.parse_args(argv)


def plot(layers: dict, path: str) -> None:
    from mmdet_dynmoe.visualization import heatmap_row
    heatmap_row([
        dict(
            values=info['share'],
            rows=info['datasets'] if i == 0 else [],
            title=name if 'purity' not in info else
            f'{name}\npurity {info["purity"]["mean"]:.2f}')
        for i, (name, info) in enumerate(layers.items())
    ],
                path,
                xlabel='expert',
                colorbar_label='share of slots',
                panel_size=(3.4, 3.0))


def main(argv=None) -> dict:
    args = parse_args(argv)
    import mmdet_dynmoe  # noqa: F401
    from mmdet_dynmoe.damex import expert_load_by_dataset, routing_purity
    from mmdet_dynmoe.engine import val_with_routing_stats

    runner, model, layers, metrics = val_with_routing_stats(
        args.config, args.checkpoint, args.out, per_image=True)
    dataset = runner.val_dataloader.dataset
    names = dataset.metainfo.get('dataset_names')
    if names is None:
        raise SystemExit('the val dataset is not a DatasetMixture (no '
                         "metainfo['dataset_names'])")
    sizes = dataset.cumulative_sizes
    datasets = [
        names[bisect.bisect_right(sizes, i)] for i in range(len(dataset))
    ]
    mapping = getattr(model, 'dataset_experts', None)
    result = {}
    for name, layer in layers:
        rows, load = expert_load_by_dataset(layer.stats.as_dict()['images'],
                                            datasets)
        stats = layer.stats.as_dict()
        info = dict(
            datasets=rows,
            load=load.tolist(),
            share=(load / load.sum(1, keepdim=True).clamp(min=1)).tolist(),
            # share of the tokens' top-k slots computed: 1 when dropless; a
            # capacity at test time (capacity_at_test) drops the rest
            computed_slots=float(stats['load'].sum()) /
            max(stats['num_tokens'] * layer.top_k, 1))
        if mapping is not None:
            info['purity'] = routing_purity(rows, load, mapping.experts)
        result[name.replace('.ffn.moe', '')] = info
    os.makedirs(args.out, exist_ok=True)
    plot(result, osp.join(args.out, 'expert_load.png'))
    with open(osp.join(args.out, 'dataset_routing.json'), 'w') as f:
        json.dump(dict(metrics=metrics, layers=result), f, indent=2)
    for name, info in result.items():
        purity = info.get('purity')
        print(f'{name}: ' + (f'routing purity {purity["mean"]:.3f} '
                             f'{ {k: round(v, 3) for k, v in purity.items()} }'
                             if purity else 'no dataset_experts map') +
              f'; computed slots {info["computed_slots"]:.3f}')
    print(f'wrote expert_load.png and dataset_routing.json to {args.out}')
    return result


if __name__ == '__main__':
    main()
