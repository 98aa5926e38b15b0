"""Expert load and co-activation of every MoE layer on a config's val set.

Writes, per MoE layer, a load bar chart and a co-activation heatmap (PNG),
and ``partners.md``: each expert's load and main partners, with the layer's
mean team size (how many partners cover 90% of an expert's co-activations;
~1 = fixed pairs, large = free mixing).

    python tools/analyze_experts.py CONFIG CHECKPOINT --out work_dirs/experts

Several checkpoints (e.g. one per training seed) are each analysed into
``OUT/run<i>/``, and ``OUT/team_sizes.md`` gets each layer's mean team size
per run and mean +- std over the runs::

    python tools/analyze_experts.py CONFIG seed0/epoch_2.pth seed1/epoch_2.pth \
        seed2/epoch_2.pth --out work_dirs/experts_seeds
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
from typing import Optional

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument(
        'checkpoints', nargs='+', help='one or more checkpoints (seeds)')
    p.add_argument('--out', default='work_dirs/expert_analysis')
    p.add_argument(
        '--max-images',
        type=int,
        default=None,
        help='analyse only the first N val images')
    p.add_argument('--coverage', type=float, default=0.9)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def plot_layer(name: str, stats: dict, out_dir: str) -> list[str]:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmdet_dynmoe.visualization import heatmap_row
    load = stats['load'].double()
    co = stats['coactivation'].double()
    share = co / load.clamp(min=1).unsqueeze(1)
    share.fill_diagonal_(0)
    files = []
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(load)), (load / load.sum().clamp(min=1)).numpy())
    ax.set_xlabel('expert')
    ax.set_ylabel('share of routing slots')
    ax.set_title(f'{name}: expert load')
    files.append(osp.join(out_dir, f'{name}_load.png'))
    fig.tight_layout()
    fig.savefig(files[-1], dpi=100)
    plt.close(fig)
    files.append(
        heatmap_row([dict(values=share.numpy(), title=f'{name}: P(j | i)')],
                    osp.join(out_dir, f'{name}_coactivation.png'),
                    xlabel='partner j',
                    colorbar_label='P(j | i)',
                    ylabel='expert i',
                    panel_size=(5.0, 4.5)))
    return files


def analyze(config: str,
            checkpoint: str,
            out: str,
            max_images: Optional[int],
            coverage: float,
            cfg_options: Optional[dict] = None) -> dict:
    """One checkpoint: plots, ``partners.md`` and ``summary.json`` in
    ``out``; returns ``{layer: summarize_layer(...)}``."""
    from mmdet_dynmoe.dynamic_dino import partners_table, summarize_layer
    from mmdet_dynmoe.engine import val_with_routing_stats

    _, _, layers, metrics = val_with_routing_stats(
        config,
        checkpoint,
        out,
        max_images=max_images,
        cfg_options=cfg_options)
    os.makedirs(out, exist_ok=True)
    stats = {
        name.replace('.ffn.moe', '').replace('.', '_'): layer.stats.as_dict()
        for name, layer in layers
    }
    files = []
    for name, s in stats.items():
        files += plot_layer(name, s, out)
    table = partners_table(stats, coverage)
    with open(osp.join(out, 'partners.md'), 'w') as f:
        f.write(table)
    summary = {
        name: summarize_layer(s['load'], s['coactivation'], coverage)
        for name, s in stats.items()
    }
    with open(osp.join(out, 'summary.json'), 'w') as f:
        json.dump(
            dict(checkpoint=checkpoint, metrics=metrics, layers=summary),
            f,
            indent=2)
    print(table)
    print(f'wrote {len(files)} PNGs, partners.md, summary.json to {out}')
    return summary


def main(argv=None) -> list[dict]:
    """Returns one ``{layer: summary}`` per checkpoint."""
    args = parse_args(argv)
    import mmdet_dynmoe  # noqa: F401
    from mmdet_dynmoe.dynamic_dino import team_size_table
    from mmdet_dynmoe.engine import over_checkpoints, run_names, runs_legend

    def run(checkpoint: str, out: str) -> dict:
        return analyze(args.config, checkpoint, out, args.max_images,
                       args.coverage, args.cfg_options)

    summaries = over_checkpoints(args.checkpoints, args.out, run)
    if len(summaries) > 1:
        table = team_size_table(summaries, run_names(args.checkpoints))
        text = (f'Mean team size per MoE layer (partners covering '
                f'{args.coverage:.0%} of an expert\'s co-activations, '
                f'load-weighted; mean +- sample std over runs):\n\n{table}'
                f'\n\n{runs_legend(args.checkpoints)}\n')
        with open(osp.join(args.out, 'team_sizes.md'), 'w') as f:
            f.write(text)
        print(text)
    return summaries


if __name__ == '__main__':
    main()
