"""AP, latency and GFLOPs of a trained model over a grid of speed knobs.

For any config + checkpoint: every knob setting of the grid runs on the
validation set (AP from the config's val evaluator), is timed on this device
at the config's val batch size (interleaved rounds, each batch's fastest
kept; the full model is timed first and last in every round, and the gap
between the two, ``latency_noise`` in sweep.json, is the noise floor: a
latency saving within it is reported as such) and its FLOPs per image are
counted on a few images (what actually ran: skipped experts and decoder
layers are not counted). Writes ``sweep.json`` (every
point, the Pareto fronts of AP vs latency and vs GFLOPs) and ``sweep.png``
(the full model and the static settings marked). The knobs are those of
``mmdet_dynmoe/engine/speed_knobs.py``; tools/calibrate_speed.py turns a
target into a setting. DynamicDet's threshold has its own sweep
(tools/sweep_dynamicdet.py: both paths, random and oracle routers).

Default grid: the decoder axis (full, each smaller ``decoder_depth``, and
``decoder_exit`` at a few thresholds) crossed with the expert axis (full,
each smaller ``test_top_k``, ``test_top_p`` at a few values), for the knobs
the model has. ``--knob NAME=V1,V2`` (``none`` = off) replaces it by the
product of the given lists; ``--one-at-a-time`` sweeps each knob alone. Example::

    python tools/sweep_speed.py \\
        configs/moe/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py \\
        work_dirs/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed/epoch_3.pth \\
        --out work_dirs/speed_sweep

Several checkpoints (one per training seed) are each swept into
``OUT/run<i>/``; ``OUT/seeds.md`` and ``seeds.json`` then give, per knob,
what it saves at the full model's AP minus ``--ap-drop`` as mean +- std over
the seeds (a seed where no setting keeps that AP saves 0), with each seed's
chosen setting. A ``sweep.json`` of an earlier sweep of the same config may
stand for its checkpoint: it is read, not swept again, so the runs of a
seeds summary can be swept in different sittings (on the machine that
trained each one) and summarised together later.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import os.path as osp
import platform
import time
from typing import Optional

import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

import mmdet_dynmoe  # noqa: F401  (registers our detectors)
from mmdet_dynmoe.engine import load_model, over_checkpoints, runs_legend
from mmdet_dynmoe.engine import speed_measurement as measure
from mmdet_dynmoe.engine import write_seeds_summary
from mmdet_dynmoe.engine.speed_knobs import parse_knob_grid, speed_knobs
from mmdet_dynmoe.evaluation import mean_std

#: knobs whose value applies the same compute to every input
STATIC_KNOBS = ('decoder_depth', 'test_top_k')
#: the two axes of the default grid (one knob of each axis at a time)
AXES = (('decoder_depth', 'decoder_exit'), ('test_top_k', 'test_top_p'))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument(
        'checkpoints',
        nargs='+',
        help='one or more checkpoints (seeds); a sweep.json of an earlier '
        'sweep of this config is read instead of swept')
    parser.add_argument(
        '--out',
        default='work_dirs/speed_sweep',
        help='folder for sweep.json and sweep.png (run<i>/ of each '
        'checkpoint and seeds.md / seeds.json with several)')
    parser.add_argument(
        '--knob',
        action='append',
        default=[],
        metavar='NAME=V1,V2',
        help='grid values of one knob (repeat for more; none = off); '
        'replaces the default grid')
    parser.add_argument(
        '--one-at-a-time',
        action='store_true',
        help='each knob alone (the others full) instead of the product')
    parser.add_argument(
        '--ap-drop',
        type=float,
        default=0.5,
        help='report what each knob saves within this many AP points of '
        'the full model')
    parser.add_argument('--max-images', type=int, default=None)
    parser.add_argument(
        '--latency-images',
        type=int,
        default=None,
        help='time each setting on the first N images only')
    parser.add_argument(
        '--flops-images',
        type=int,
        default=4,
        help='count FLOPs on the first N images (one trace each)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='timing rounds over all settings; each batch keeps its '
        'fastest round')
    parser.add_argument(
        '--metric',
        default=None,
        help='the AP key (default coco/bbox_mAP, or the mean over datasets)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def build_grid(available: dict[str, list],
               given: Optional[dict[str, list]] = None,
               one_at_a_time: bool = False) -> list[dict]:
    """Knob settings to sweep, the full setting first.

    ``given``: the product of these lists (unknown names are an error).
    Otherwise the product of the two axes of :data:`AXES`, each axis being
    its knobs' values one knob at a time; ``one_at_a_time``: each knob's
    values alone, the others full (what each knob saves by itself).
    """
    if one_at_a_time:
        grid = [{
            name: v
        } for name, values in (given or available).items() for v in values]
    elif given:
        unknown = sorted(set(given) - set(available))
        if unknown:
            raise SystemExit(f'--knob {unknown}: this model has the knobs '
                             f'{sorted(available)}')
        names = list(given)
        grid = [
            dict(zip(names, values))
            for values in itertools.product(*(given[n] for n in names))
        ]
    else:
        axes = []
        for axis in AXES:
            options = [{}]
            for name in axis:
                options += [{
                    name: v
                } for v in available.get(name, []) if v is not None]
            axes.append(options)
        grid = [dict(**a, **b) for a, b in itertools.product(*axes)]
    unique = []
    for g in grid:
        if any(v is not None for v in g.values()) and g not in unique:
            unique.append(g)
    return [{}] + unique


def pareto(points: list[dict], cost: str) -> list[bool]:
    """Which points no other point beats: at most the cost and at least the
    AP, one of them strictly."""
    flags = []
    for p in points:
        beaten = any(q[cost] <= p[cost] and q['ap'] >= p['ap'] and (
            q[cost] < p[cost] or q['ap'] > p['ap']) for q in points)
        flags.append(not beaten)
    return flags


def label(knobs: dict) -> str:
    """``{'decoder_depth': 2}`` -> ``'decoder_depth=2'``; ``{}`` -> full."""
    parts = [f'{k}={v}' for k, v in knobs.items() if v is not None]
    return ', '.join(parts) or 'full'


def sweep(args: argparse.Namespace, checkpoint: str, out: str) -> dict:
    """Sweep one checkpoint into ``out``; returns its summary."""
    model, cfg, _ = load_model(args.config, checkpoint, args.cfg_options,
                               args.device)
    available = speed_knobs(model)
    available.pop('threshold', None)
    if not available:
        raise SystemExit(
            f'{type(model).__name__} has no speed knobs (DynamicDet: '
            "tools/sweep_dynamicdet.py; a stock DINO: type='MoEDINO')")
    grid = build_grid(available, parse_knob_grid(args.knob),
                      args.one_at_a_time)
    batches, dataset_meta = measure.preprocessed_val_batches(
        model, cfg, args.max_images)
    timed = measure.first_images(batches, args.latency_images)
    images = sum(len(b['data_samples']) for b in batches)
    print(f'{len(grid)} settings x {images} val images; knobs: '
          f'{ {k: v for k, v in available.items()} }')
    # AP and FLOPs per setting, then the interleaved timing rounds: one
    # progress bar (mmengine's, with the time left) over all of it
    metric = measure.build_val_metric(cfg, dataset_meta)
    if args.max_images and not hasattr(metric, 'img_ids'):
        raise SystemExit(
            f'--max-images: {type(metric).__name__} evaluates every image of '
            'its annotation files, so AP on a subset would count the others '
            'as missed; sweep the whole val set (or use a CocoMetric)')
    bar = ProgressBar(len(grid) * (2 + args.repeats) + args.repeats)
    points = []
    for knobs in grid:
        preds, layers = measure.at_setting(
            model, knobs, lambda: measure.predict_all(model, batches))
        bar.update()
        metrics = measure.evaluate_predictions(metric, preds)
        gflops = measure.at_setting(
            model, knobs,
            lambda: measure.mean_gflops(model, batches, args.flops_images))
        bar.update()
        points.append(
            dict(
                knobs=knobs,
                label=label(knobs),
                ap=measure.headline_ap(metrics, args.metric),
                metrics={
                    k: float(v)
                    for k, v in metrics.items()
                },
                gflops=gflops,
                mean_decoder_layers=measure.mean_decoder_layers(layers),
                static=all(k in STATIC_KNOBS or v is None
                           for k, v in knobs.items())))
    # the full model is timed twice in every round (first and last): how far
    # two timings of one computation differ here is the noise floor below
    # which a latency saving means nothing
    latencies = measure.interleaved_latencies(model, grid + grid[:1], timed,
                                              args.repeats, bar.update)
    noise = abs(latencies.pop() / latencies[0] - 1)
    print()
    for point, lat in zip(points, latencies):
        point['latency_ms'] = lat
    for cost in ('latency_ms', 'gflops'):
        for point, flag in zip(points, pareto(points, cost)):
            point[f'pareto_{cost}'] = flag
    summary = dict(
        config=args.config,
        checkpoint=checkpoint,
        device=f'{args.device} ({platform.processor() or platform.machine()}'
        f', {torch.get_num_threads()} threads)',
        date=time.strftime('%Y-%m-%d'),
        images=images,
        latency_images=sum(len(b['data_samples']) for b in timed),
        batch_size=cfg.val_dataloader.batch_size,
        latency_noise=noise,
        points=points,
        savings=savings_at_ap_drop(points, args.ap_drop, noise))
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'sweep.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    plot(points, osp.join(out, 'sweep.png'),
         f'{osp.basename(args.config)} ({checkpoint})')
    print(f'{"setting":<40} {"AP":>6} {"ms/img":>8} {"GFLOPs":>8} layers')
    for p in points:
        front = '*' if p['pareto_latency_ms'] else ' '
        layers = '' if p['mean_decoder_layers'] is None else \
            f'{p["mean_decoder_layers"]:.2f}'
        print(f'{front}{p["label"]:<39} {100 * p["ap"]:6.1f} '
              f'{p["latency_ms"]:8.2f} {p["gflops"]:8.3f} {layers}')
    print(f'* on the AP-latency Pareto front; the full model timed twice '
          f'differed by {noise:.1%}; wrote {out}/sweep.json and sweep.png')
    print(f'per knob, the cheapest setting within {args.ap_drop} AP of the '
          'full model:')
    for name, row in summary['savings'].items():
        print(f'  {name}: ' +
              ('none' if row is
               None else f'{row["label"]}: AP {100 * row["ap"]:.1f}, '
               f'latency {row["latency_saved"]:+.1%}'
               f'{" (within noise)" if row["latency_within_noise"] else ""}'
               f', GFLOPs {row["gflops_saved"]:+.1%} saved'))
    return summary


def savings_at_ap_drop(points: list,
                       drop: float,
                       latency_noise: Optional[float] = None) -> dict:
    """Per knob: the setting of that knob alone, AP at least the full
    model's minus ``drop`` (AP points), with the fewest GFLOPs (counted, so
    free of timing noise; then the lowest latency), and the fraction of the
    full model's latency and GFLOPs it saves (None: no setting of the knob
    keeps that AP). ``latency_within_noise``: the latency saved is no larger
    than ``latency_noise`` (the relative gap between two timings of the full
    model; None: not measured, as in sweeps before it was)."""
    full = points[0]
    floor = full['ap'] - drop / 100
    out: dict = {}
    for name in dict.fromkeys(k for p in points[1:] for k in p['knobs']):
        alone = [
            p for p in points[1:]
            if list(p['knobs']) == [name] and p['ap'] >= floor
        ]
        best = min(
            alone, key=lambda p: (p['gflops'], p['latency_ms']), default=None)
        if best is None:
            out[name] = None
            continue
        saved = 1 - best['latency_ms'] / full['latency_ms']
        out[name] = dict(
            label=best['label'],
            ap=best['ap'],
            latency_saved=saved,
            gflops_saved=1 - best['gflops'] / full['gflops'],
            latency_within_noise=None
            if latency_noise is None else abs(saved) <= latency_noise)
    return out


def seeds_savings(summaries: list[dict]) -> dict:
    """What each knob saves over several runs (seeds) of one config.

    Returns:
        ``full``: the full model's ``ap`` / ``latency_ms`` / ``gflops`` as
        :func:`mean_std`; ``knobs``: per knob, ``latency_saved`` and
        ``gflops_saved`` as :func:`mean_std` over the runs (0 for a run where
        no setting of it keeps the AP), ``settings``, each run's choice
        (None: none kept it), and ``within_noise``, per run whether its
        latency saving is within that run's timing noise (None: no setting
        or not measured). ``latency_noise``: the runs' gaps between two
        timings of the full model as :func:`mean_std` (None when a run did
        not measure it).
    """
    full = {
        key: mean_std([s['points'][0][key] for s in summaries])
        for key in ('ap', 'latency_ms', 'gflops')
    }
    knobs = {}
    for name in dict.fromkeys(k for s in summaries for k in s['savings']):
        rows = [s['savings'].get(name) for s in summaries]
        knobs[name] = dict(
            settings=[None if r is None else r['label'] for r in rows],
            within_noise=[
                None if r is None else r.get('latency_within_noise')
                for r in rows
            ],
            **{
                key: mean_std([0.0 if r is None else r[key] for r in rows])
                for key in ('latency_saved', 'gflops_saved')
            })
    noise = [s.get('latency_noise') for s in summaries]
    return dict(
        full=full,
        knobs=knobs,
        latency_noise=None if None in noise else mean_std(noise))


def seeds_table(summary: dict, ap_drop: float) -> str:
    """Markdown of :func:`seeds_savings`."""

    def pm(stat: dict,
           scale: float = 100.0,
           unit: str = '',
           digits: int = 1) -> str:
        return (f'{scale * stat["mean"]:.{digits}f}{unit} +- '
                f'{scale * stat["std"]:.{digits}f}{unit}')

    def within(flags: list) -> str:
        known = [f for f in flags if f is not None]
        return f'{sum(known)} of {len(known)}' if known else '-'

    full, noise = summary['full'], summary['latency_noise']
    lines = [
        f'Full model: AP {pm(full["ap"])}, {pm(full["latency_ms"], 1)} '
        f'ms/img, {pm(full["gflops"], 1, digits=3)} GFLOPs; timed twice per '
        'round, it differed by ' +
        ('(not measured)' if noise is None else pm(noise, unit=' %')) +
        ': a latency saving within that gap is timing noise.', '',
        f'| knob | latency saved at AP - {ap_drop} | GFLOPs saved | '
        'setting per seed | latency saving within noise |',
        '|---|---:|---:|---|---:|'
    ]
    for name, row in summary['knobs'].items():
        settings = ', '.join(s or 'none' for s in row['settings'])
        lines.append(f'| `{name}` | {pm(row["latency_saved"], unit=" %")} | '
                     f'{pm(row["gflops_saved"], unit=" %")} | {settings} | '
                     f'{within(row["within_noise"])} |')
    return '\n'.join(lines)


def earlier_sweep(args: argparse.Namespace, path: str) -> dict:
    """The summary in an earlier ``sweep.json`` of ``args.config``, its
    savings recomputed at ``args.ap_drop``."""
    with open(path) as f:
        summary = json.load(f)
    if osp.normpath(summary.get('config', '')) != osp.normpath(args.config):
        raise SystemExit(f'{path} is a sweep of {summary.get("config")!r}, '
                         f'not of {args.config!r}')
    summary['savings'] = savings_at_ap_drop(summary['points'], args.ap_drop,
                                            summary.get('latency_noise'))
    print(f'read {path} (swept {summary["date"]} on {summary["device"]})')
    return summary


def main(argv=None) -> list[dict]:
    """Sweep every checkpoint (or read its earlier sweep.json); with several,
    also the seeds summary."""
    args = parse_args(argv)
    summaries = over_checkpoints(
        args.checkpoints, args.out,
        lambda ckpt, out: earlier_sweep(args, ckpt)
        if ckpt.endswith('.json') else sweep(args, ckpt, out))
    if len(summaries) > 1:
        summary = seeds_savings(summaries)
        text = (f'{seeds_table(summary, args.ap_drop)}\n\nMean +- sample '
                f'std over {len(summaries)} runs of `{args.config}`; a run '
                'where no setting of a knob keeps the AP saves 0.\n\n' +
                runs_legend(args.checkpoints) + '\n')
        write_seeds_summary(args.out, text, summary)
        print(f'\n{text}wrote {args.out}/seeds.md and seeds.json')
    return summaries


def plot(points: list, path: str, title: str) -> None:
    """AP vs measured latency (left) and vs GFLOPs per image (right), the
    Pareto front joined, the full model and the static settings marked."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for ax, cost, xlabel in ((axes[0], 'latency_ms',
                              'measured latency (ms / image)'),
                             (axes[1], 'gflops', 'GFLOPs / image')):
        front = sorted((p for p in points if p[f'pareto_{cost}']),
                       key=lambda p: p[cost])
        ax.plot([p[cost] for p in front], [100 * p['ap'] for p in front],
                '-',
                color='tab:blue',
                label='Pareto front')
        for static, marker, name in ((True, 's', 'static setting'),
                                     (False, 'o', 'per-input setting')):
            sel = [p for p in points if p['static'] == static]
            ax.plot([p[cost] for p in sel], [100 * p['ap'] for p in sel],
                    marker,
                    ls='',
                    ms=5,
                    alpha=0.8,
                    label=name)
        full = points[0]
        ax.plot([full[cost]], [100 * full['ap']],
                '*',
                ms=14,
                color='tab:red',
                label='full model')
        for p in front:
            ax.annotate(
                p['label'], (p[cost], 100 * p['ap']),
                fontsize=6,
                xytext=(3, -8),
                textcoords='offset points')
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('AP (%)')
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == '__main__':
    main()
