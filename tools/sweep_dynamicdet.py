"""AP vs latency of a DynamicDet model for hard ratios 0, 10, ..., 100 %.

Both detectors run once on every validation image; the AP at each hard
ratio is the AP of the router's per-image choice (the threshold that sends
that fraction to detector 2, as tools/calibrate_dynamicdet.py computes it),
and the latency is measured by running the dynamic model at that threshold
on this device. A random router at the same ratios is the reference the
learned router must beat; the *oracle* router, which ranks images by their
true per-image loss gap L1 - L2 (what step 2 trains the router to predict;
needs the ground truth the test pipeline loads), is the best this objective
can give with these two detectors. Writes a PNG (the two static detectors
marked, the straight line joining them dashed) and a JSON with every
figure, including each detector's AP on the generator's easy and hard
images when the data records them.

Example::

    python tools/sweep_dynamicdet.py \
        configs/dynamicdet/dynamicdet-retinanet_r18-tiny_router-1e_synthetic-mixed.py \
        work_dirs/dynamicdet-retinanet_r18-tiny_router-1e_synthetic-mixed/epoch_1.pth \
        --out work_dirs/dynamicdet_sweep

The random router's AP is the mean over ``--random-draws`` random routings
(its spread is in the JSON). Several checkpoints (one per training seed)
are each swept into ``OUT/run<i>/``; ``OUT/seeds.md``, ``seeds.json`` and
``seeds.png`` then give every figure as mean +- std over the seeds and, per
ratio, the learned router minus the random one paired by seed, called a
gain or a loss only when it exceeds the seeds' spread
(:func:`mmdet_dynmoe.evaluation.paired_comparison`).

A ``sweep.json`` of an earlier sweep of the same config may stand for its
checkpoint: it is read, not swept again (the seeds summary of runs swept in
different sittings, or from the records kept in ``docs/seeds/``).
``--reference J0 J1 ...`` compares two step-2 recipes on the same step-1
models: the ``sweep.json`` of the other recipe for each run, in the same
order; ``seeds.md`` then also gives, per ratio, this recipe's AP minus the
reference's, paired by run, with the same verdict rule::

    python tools/sweep_dynamicdet.py CONFIG_OURS ours-s0.pth ours-s1.pth ours-s2.pth \
        --reference official/run0/sweep.json official/run1/sweep.json \
        official/run2/sweep.json --out work_dirs/sweep-ours
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import time

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

import mmdet_dynmoe  # noqa: F401  (registers DynamicDet)
from mmdet_dynmoe.dynamicdet import path_flops, threshold_for_hard_ratio
from mmdet_dynmoe.dynamicdet.routing_evaluation import (
    evaluate_choice, hard_mask, largest_fraction, load_dynamic_detector,
    measure_threshold_latencies, per_image_loss_gaps, run_both_paths)
from mmdet_dynmoe.engine import (over_checkpoints, runs_legend,
                                 write_seeds_summary)
from mmdet_dynmoe.engine.speed_measurement import (first_images,
                                                   preprocessed_val_batches)
from mmdet_dynmoe.evaluation import mean_std, paired_comparison, spearman

RATIOS = [i / 10 for i in range(11)]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument(
        'checkpoints', nargs='+', help='one or more checkpoints (seeds)')
    parser.add_argument(
        '--out',
        default='work_dirs/dynamicdet_sweep',
        help='folder for sweep.png and sweep.json')
    parser.add_argument('--max-images', type=int, default=None)
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='timing rounds over all ratios; each batch keeps its '
        'fastest round')
    parser.add_argument(
        '--latency-images',
        type=int,
        default=None,
        help='time each ratio on the first N images only')
    parser.add_argument(
        '--random-draws',
        type=int,
        default=5,
        help='random routings averaged for the random router\'s AP')
    parser.add_argument(
        '--reference',
        nargs='+',
        default=None,
        help='sweep.json of another step-2 recipe on the same step-1 '
        'models, one per checkpoint in the same order: adds this recipe '
        'minus the reference, paired by run')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.random_draws < 1:
        parser.error(f'--random-draws {args.random_draws}: must be >= 1')
    if args.reference is not None:
        if len(args.reference) != len(args.checkpoints):
            parser.error(
                f'--reference: {len(args.reference)} sweep.json for '
                f'{len(args.checkpoints)} checkpoints; give one per '
                'checkpoint, the same step-1 models in the same order')
        missing = [p for p in args.reference if not osp.isfile(p)]
        if missing:
            parser.error(f'--reference: no such file {missing[0]!r}')
    return args


def _ap(metrics: dict, key: str = 'coco/bbox_mAP') -> float:
    # CocoMetric returns no metrics at all when nothing was detected.
    return float(metrics.get(key, 0.0))


def sweep(args: argparse.Namespace) -> dict:
    model, cfg = load_dynamic_detector(args.config, args.checkpoint,
                                       args.cfg_options, args.device)
    batches, dataset_meta = preprocessed_val_batches(model, cfg,
                                                     args.max_images)
    timed = first_images(batches, args.latency_images)
    # both paths, the loss gaps, then the timing rounds: one progress bar
    # (mmengine's, with the time left) over all of it
    bar = ProgressBar(2 * len(batches) + args.repeats * len(RATIOS))
    results = run_both_paths(model, batches, bar.update)
    gaps = per_image_loss_gaps(model, batches, bar.update)
    scores = results.score_tensor
    generator = torch.Generator().manual_seed(0)
    random_draws = [
        torch.rand(len(scores), generator=generator)
        for _ in range(args.random_draws)
    ]
    rows = []
    for ratio in RATIOS:
        threshold = threshold_for_hard_ratio(scores, ratio)
        hard = hard_mask(results, threshold)
        metrics = evaluate_choice(cfg, dataset_meta, results, hard)
        rand = [
            _ap(
                evaluate_choice(cfg, dataset_meta, results,
                                largest_fraction(draw, ratio)))
            for draw in random_draws
        ]
        rows.append(
            dict(
                hard_ratio=ratio,
                threshold=threshold,
                measured_hard_ratio=float(np.mean(hard)),
                ap=_ap(metrics),
                ap50=_ap(metrics, 'coco/bbox_mAP_50'),
                random_router_ap=float(np.mean(rand)),
                random_router_ap_std=float(np.std(rand))))
        if gaps is not None:
            rows[-1]['oracle_router_ap'] = _ap(
                evaluate_choice(cfg, dataset_meta, results,
                                largest_fraction(gaps, ratio)))
    with torch.no_grad():  # first image; two-stage FLOPs vary a little
        flops = path_flops(model, batches[0]['inputs'][:1],
                           batches[0]['data_samples'][:1])
    for row in rows:  # the mean cost is linear in the reached ratio
        row['gflops'] = (flops[1] + row['measured_hard_ratio'] *
                         (flops[2] - flops[1])) / 1e9
    latencies = measure_threshold_latencies(model, timed,
                                            [row['threshold'] for row in rows],
                                            args.repeats, bar.update)
    print()
    for row, latency in zip(rows, latencies):
        row['latency_ms'] = latency
        oracle = (f', oracle {row["oracle_router_ap"]:.3f}'
                  if 'oracle_router_ap' in row else '')
        print(f'hard {row["hard_ratio"]:4.0%}: AP {row["ap"]:.3f} (random '
              f'router {row["random_router_ap"]:.3f}{oracle}), '
              f'{row["latency_ms"]:.2f} ms/img')
    summary = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        device=f'{args.device} ({platform.processor() or platform.machine()}'
        f', {torch.get_num_threads()} threads)',
        date=time.strftime('%Y-%m-%d'),
        num_images=len(scores),
        latency_images=sum(len(b['data_samples']) for b in timed),
        batch_size=cfg.val_dataloader.batch_size,
        rows=rows)
    if gaps is not None:
        # Did the router learn its target? Easy = small gain from detector 2.
        summary['spearman_easiness_loss_gap'] = spearman(
            results.scores, (-gaps).tolist())
        summary['loss_gap_mean'] = float(gaps.mean())
        summary['loss_gap_positive'] = float((gaps > 0).double().mean())
        print(f'router easiness vs -(L1 - L2) on these images: Spearman '
              f'{summary["spearman_easiness_loss_gap"]:.3f}; detector 2 has '
              f'the lower loss on {summary["loss_gap_positive"]:.0%}')
    if all(h is not None for h in results.hard):
        summary['bands'] = _band_aps(cfg, dataset_meta, results, scores)
    if all(d is not None for d in results.difficulty):
        diff = np.array(results.difficulty, dtype=float)
        summary['spearman_easiness_difficulty'] = spearman(
            results.scores, diff)
        hard_img = diff >= np.median(diff)
        summary['mean_score_difficult_half'] = float(
            scores[torch.from_numpy(hard_img)].mean())
        summary['mean_score_easy_half'] = float(
            scores[torch.from_numpy(~hard_img)].mean())
        print(f'router easiness vs generator difficulty: Spearman '
              f'{summary["spearman_easiness_difficulty"]:.3f}')
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'sweep.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    plot(rows, osp.join(args.out, 'sweep.png'), args.config)
    print(f'wrote {args.out}/sweep.png and sweep.json')
    return summary


def _band_aps(cfg, dataset_meta: dict, results, scores) -> dict:
    """AP of each detector on the generator's easy and hard images, and
    the share of each band the router sends to detector 2 at 50 %."""
    band_hard = [bool(h) for h in results.hard]
    at_half = hard_mask(results, threshold_for_hard_ratio(scores, 0.5))
    bands = {}
    for name, flag in (('easy', False), ('hard', True)):
        members = [h == flag for h in band_hard]
        if not any(members):
            continue
        aps = {
            path:
            _ap(
                evaluate_choice(cfg, dataset_meta, results,
                                [path == 2] * len(members), members))
            for path in (1, 2)
        }
        routed = [r for r, m in zip(at_half, members) if m]
        bands[name] = dict(
            num_images=sum(members),
            ap_detector1=aps[1],
            ap_detector2=aps[2],
            to_detector2_at_50=float(np.mean(routed)))
        print(f'{name} images ({sum(members)}): AP detector 1 {aps[1]:.3f}, '
              f'detector 2 {aps[2]:.3f}; router at 50 % sends '
              f'{np.mean(routed):.0%} of them to detector 2')
    return bands


def plot(rows: list, path: str, title: str) -> None:
    """AP vs measured latency (left) and vs mean GFLOPs per image (right:
    exact and linear in the hard ratio, free of timing noise)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ap = [100 * r['ap'] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, xlabel in ((axes[0], 'latency_ms',
                             'measured latency (ms / image)'),
                            (axes[1], 'gflops', 'mean GFLOPs / image')):
        x = [r[key] for r in rows]
        ax.plot([x[0], x[-1]], [ap[0], ap[-1]],
                '--',
                color='grey',
                label='line joining the static detectors')
        ax.plot(
            x, [100 * r['random_router_ap'] for r in rows],
            'x:',
            color='tab:orange',
            label='random router')
        if 'oracle_router_ap' in rows[0]:
            ax.plot(
                x, [100 * r['oracle_router_ap'] for r in rows],
                '^-.',
                color='tab:purple',
                ms=4,
                label='oracle router (true L1 - L2)')
        ax.plot(x, ap, 'o-', color='tab:blue', label='DynamicDet router')
        for r, xi, y in zip(rows, x, ap):
            ax.annotate(
                f"{r['measured_hard_ratio']:.0%}", (xi, y),
                fontsize=7,
                xytext=(3, -9),
                textcoords='offset points')
        ax.plot([x[0]], [ap[0]],
                's',
                ms=10,
                color='tab:green',
                label='detector 1 alone (0 %)')
        ax.plot([x[-1]], [ap[-1]],
                'D',
                ms=10,
                color='tab:red',
                label='detector 2 alone (100 %)')
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('AP (%)')
    axes[0].legend(fontsize=7)
    fig.suptitle(osp.basename(title), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


#: per-ratio figures summarised over seeds (those present in every run)
SEED_KEYS = ('ap', 'random_router_ap', 'oracle_router_ap', 'latency_ms',
             'gflops', 'measured_hard_ratio')


def seeds_summary(summaries: list[dict]) -> dict:
    """Per ratio: each figure's mean and sample std over the runs, and the
    learned minus the random router paired by run."""
    rows = []
    for i, ratio in enumerate(RATIOS):
        per_run = [s['rows'][i] for s in summaries]
        row = dict(hard_ratio=ratio)
        for key in SEED_KEYS:
            if all(key in r for r in per_run):
                row[key] = mean_std([r[key] for r in per_run])
        row['learned_minus_random'] = paired_comparison(
            [r['ap'] for r in per_run],
            [r['random_router_ap'] for r in per_run])
        rows.append(row)
    out = dict(
        checkpoints=[s['checkpoint'] for s in summaries],
        num_runs=len(summaries),
        rows=rows)
    for key in ('spearman_easiness_loss_gap', 'spearman_easiness_difficulty'):
        if all(key in s for s in summaries):
            out[key] = mean_std([s[key] for s in summaries])
    return out


def reference_comparison(summaries: list[dict],
                         references: list[dict]) -> list[dict]:
    """Per ratio: the learned router's AP of these runs minus that of the
    reference recipe's runs, paired run by run (same step-1 models)."""
    rows = []
    for i, ratio in enumerate(RATIOS):
        ours = [s['rows'][i]['ap'] for s in summaries]
        ref = [r['rows'][i]['ap'] for r in references]
        rows.append(
            dict(
                hard_ratio=ratio,
                ap=mean_std(ours),
                reference_ap=mean_std(ref),
                minus_reference=paired_comparison(ours, ref)))
    return rows


def reference_table(rows: list[dict]) -> str:
    """Markdown: this recipe against the reference, one row per ratio."""
    lines = [
        '| hard ratio | AP this recipe | AP reference | this - reference '
        '(paired) | verdict |', '|---:|---:|---:|---:|---|'
    ]
    for row in rows:
        diff = row['minus_reference']
        p = f', p {diff["p"]:.2f}' if diff['p'] is not None else ''
        lines.append(
            f'| {row["hard_ratio"]:.0%} | {_cell(row["ap"])} | '
            f'{_cell(row["reference_ap"])} | {100 * diff["mean"]:+.1f}'
            f' +- {100 * diff["std"]:.1f}{p} | {diff["verdict"]} |')
    return '\n'.join(lines)


def earlier_sweep(config: str, path: str) -> dict:
    """The summary in an earlier ``sweep.json``; it must be of ``config``."""
    with open(path) as f:
        summary = json.load(f)
    if osp.normpath(summary.get('config', '')) != osp.normpath(config):
        raise SystemExit(f'{path} is a sweep of {summary.get("config")!r}, '
                         f'not of {config!r}')
    print(f'read {path} (swept {summary.get("date", "?")} on '
          f'{summary.get("device", "?")})')
    return summary


def _cell(stat: dict, scale: float = 100.0, digits: int = 1) -> str:
    return (f'{scale * stat["mean"]:.{digits}f} +- '
            f'{scale * stat["std"]:.{digits}f}')


def seeds_table(summary: dict) -> str:
    """Markdown: one row per hard ratio, mean +- std over the runs."""
    oracle = 'oracle_router_ap' in summary['rows'][0]
    head = ['hard ratio', 'AP learned router', 'AP random router']
    head += ['AP oracle'] if oracle else []
    head += ['learned - random (paired)', 'verdict', 'ms/img', 'GFLOPs/img']
    lines = [
        '| ' + ' | '.join(head) + ' |',
        '|' + '|'.join('---' if h == 'verdict' else '---:' for h in head) + '|'
    ]
    for row in summary['rows']:
        diff = row['learned_minus_random']
        cells = [
            f'{row["hard_ratio"]:.0%}',
            _cell(row['ap']),
            _cell(row['random_router_ap'])
        ]
        cells += [_cell(row['oracle_router_ap'])] if oracle else []
        p = f', p {diff["p"]:.2f}' if diff['p'] is not None else ''
        cells += [
            f'{100 * diff["mean"]:+.1f} +- {100 * diff["std"]:.1f}{p}',
            diff['verdict'],
            _cell(row['latency_ms'], 1.0, 2),
            _cell(row['gflops'], 1.0, 3)
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot_seeds(summary: dict, path: str, title: str) -> None:
    """AP vs GFLOPs per image: mean over runs, +- std as error bars."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = summary['rows']
    x = [r['gflops']['mean'] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for key, style, label in (('ap', 'o-', 'DynamicDet router'),
                              ('random_router_ap', 'x:', 'random router'),
                              ('oracle_router_ap', '^-.',
                               'oracle router (true L1 - L2)')):
        if key not in rows[0]:
            continue
        ax.errorbar(
            x, [100 * r[key]['mean'] for r in rows],
            yerr=[100 * r[key]['std'] for r in rows],
            fmt=style,
            capsize=3,
            ms=4,
            label=label)
    ax.set_xlabel('mean GFLOPs / image (0 % ... 100 % hard)')
    ax.set_ylabel('AP (%)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(
        f'{osp.basename(title)}: mean +- std over '
        f'{summary["num_runs"]} runs',
        fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> list[dict]:
    """Sweep every checkpoint (or read its earlier sweep.json); with several,
    also the seeds summary, and with ``--reference`` the recipe comparison.
    """
    args = parse_args(argv)
    root = args.out

    def run(checkpoint: str, out: str) -> dict:
        if checkpoint.endswith('.json'):
            return earlier_sweep(args.config, checkpoint)
        return sweep(
            argparse.Namespace(
                **dict(vars(args), checkpoint=checkpoint, out=out)))

    summaries = over_checkpoints(args.checkpoints, root, run)
    if len(summaries) > 1 or args.reference:
        summary = seeds_summary(summaries)
        text = (f'{seeds_table(summary)}\n\nMean +- sample std over '
                f'{len(summaries)} runs; learned - random is paired by run '
                '(a gain or loss when its mean exceeds its std).\n\n' +
                runs_legend(args.checkpoints) + '\n')
        if args.reference:
            refs = [json.load(open(p)) for p in args.reference]
            summary['reference'] = dict(
                sweeps=args.reference,
                configs=sorted({r['config']
                                for r in refs}),
                rows=reference_comparison(summaries, refs))
            text += (f'\nAgainst the reference recipe '
                     f'({", ".join(summary["reference"]["configs"])}), '
                     'learned router AP paired by run:\n\n' +
                     reference_table(summary['reference']['rows']) + '\n\n' +
                     '\n'.join(f'- reference of run{i}: `{p}`'
                               for i, p in enumerate(args.reference)) + '\n')
        write_seeds_summary(root, text, summary)
        plot_seeds(summary, osp.join(root, 'seeds.png'), args.config)
        print(text)
    return summaries


if __name__ == '__main__':
    main()
