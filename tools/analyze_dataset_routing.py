"""Routing purity and expert load per dataset of a DAMEX-style model.

Runs the config's val set (a ``DatasetMixture``) *without* dataset ids
reaching the router, and reports, per MoE layer, how each dataset's tokens
spread over the experts (``expert_load.png``: a dataset x expert heatmap of
slot shares) and, when the model has a ``dataset_experts`` map, the routing
purity: the share of each dataset's tokens routed to its own expert(s). For
every model, also the top-expert share: the share of each dataset's tokens
taken by its busiest expert (dataset structure without a map).

    python tools/analyze_dataset_routing.py CONFIG CHECKPOINT --out DIR

Over seeds, the ``dataset_routing.json`` of several runs of one config become
one table (mean +- sample std per layer; no model is run):

    python tools/analyze_dataset_routing.py --summary RUN0.json RUN1.json \
        RUN2.json --out DIR   # DIR/routing_seeds.md and routing_seeds.json
"""
from __future__ import annotations

import argparse
import bisect
import json
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', nargs='?')
    p.add_argument('checkpoint', nargs='?')
    p.add_argument('--out', default='work_dirs/dataset_routing')
    p.add_argument(
        '--summary',
        nargs='+',
        metavar='JSON',
        help='dataset_routing.json of several runs (seeds) of one config: '
        'write their mean +- std table instead of running a model')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    if args.summary is None and (args.config is None
                                 or args.checkpoint is None):
        p.error('give CONFIG and CHECKPOINT, or --summary JSON [JSON ...]')
    if args.summary is not None and args.config is not None:
        p.error('--summary reads finished runs: give no CONFIG/CHECKPOINT')
    return args


def summarize(paths: list[str]) -> dict:
    """Per layer and dataset, mean +- std over runs of the routing purity
    (where the runs have a dataset -> expert map), the top-expert share and
    the computed slots.

    Args:
        paths: ``dataset_routing.json`` files of runs of one config.

    Returns:
        ``{layer: {'datasets': [...], 'purity' / 'top_share':
        {name: {'mean', 'std', 'values'}}, 'computed_slots': {...}}}``.
    """
    import torch

    from mmdet_dynmoe.damex import top_expert_share
    from mmdet_dynmoe.evaluation import mean_std
    runs = []
    for path in paths:
        with open(path) as f:
            runs.append(json.load(f)['layers'])
    if any(set(r) != set(runs[0]) for r in runs):
        raise SystemExit(f'the runs have different MoE layers: '
                         f'{[sorted(r) for r in runs]}')

    def spread(values: list[float]) -> dict:
        return dict(mean_std(values), values=values)

    result = {}
    for layer in runs[0]:
        infos = [r[layer] for r in runs]
        names = infos[0]['datasets']
        shares = [
            top_expert_share(i['datasets'],
                             torch.tensor(i['load'], dtype=torch.float64))
            for i in infos
        ]
        entry = dict(
            datasets=names,
            top_share={
                k: spread([s[k] for s in shares])
                for k in names + ['mean']
            },
            computed_slots=spread([i['computed_slots'] for i in infos]))
        if all('purity' in i for i in infos):
            entry['purity'] = {
                k: spread([i['purity'][k] for i in infos])
                for k in names + ['mean']
            }
        result[layer] = entry
    return result


def summary_table(result: dict, paths: list[str]) -> str:
    """Markdown: one row per layer and measure, a column per dataset."""
    layer0 = next(iter(result.values()))
    names = layer0['datasets']
    lines = [
        '| layer | measure | ' + ' | '.join(names) + ' | mean |',
        '|---|---|' + '---:|' * (len(names) + 1)
    ]
    for layer, entry in result.items():
        for key, label in (('purity', 'routing purity'), ('top_share',
                                                          'top-expert share')):
            if key in entry:
                cells = [
                    f'{entry[key][k]["mean"]:.3f} +- {entry[key][k]["std"]:.3f}'
                    for k in names + ['mean']
                ]
                lines.append(f'| {layer} | {label} | ' + ' | '.join(cells) +
                             ' |')
    slots = ', '.join(f'{layer} {e["computed_slots"]["mean"]:.2f}'
                      for layer, e in result.items())
    return ('\n'.join(lines) +
            f'\n\nMean +- sample std over {len(paths)} runs; computed slots '
            f'at test (mean): {slots}. Runs: ' +
            ', '.join(f'`{p}`' for p in paths) + '.\n')


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
    if args.summary is not None:
        result = summarize(args.summary)
        text = summary_table(result, args.summary)
        os.makedirs(args.out, exist_ok=True)
        with open(osp.join(args.out, 'routing_seeds.md'), 'w') as f:
            f.write(text)
        with open(osp.join(args.out, 'routing_seeds.json'), 'w') as f:
            json.dump(result, f, indent=2)
        print(f'{text}\nwrote routing_seeds.md and routing_seeds.json to '
              f'{args.out}')
        return result
    from mmdet_dynmoe.damex import (expert_load_by_dataset, routing_purity,
                                    top_expert_share)
    from mmdet_dynmoe.engine import val_with_routing_stats

    runner, model, layers, metrics = val_with_routing_stats(
        args.config,
        args.checkpoint,
        args.out,
        per_image=True,
        cfg_options=args.cfg_options)
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
            max(stats['num_tokens'] * layer.top_k, 1),
            top_share=top_expert_share(rows, load))
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
              f'; top-expert share {info["top_share"]["mean"]:.3f}'
              f'; computed slots {info["computed_slots"]:.3f}')
    print(f'wrote expert_load.png and dataset_routing.json to {args.out}')
    return result


if __name__ == '__main__':
    main()
