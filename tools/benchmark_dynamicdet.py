"""Images/s of a DynamicDet model per batch size, beside its static paths.

For each ``--batch-sizes`` value the val images (the same first
``--max-images`` for every size) are preprocessed in batches of that size and
timed, in interleaved rounds (each batch's fastest of ``--repeats`` kept),
in five settings:

- ``detector 1 alone``: backbone 1 + detector 1, no router;
- ``dynamic, 0 % hard``: the dynamic model at threshold 0;
- ``dynamic, R % hard``: at the threshold sending ``--hard-ratio`` R of these
  images to detector 2 (chosen per batch size: a batch is padded to its
  largest image, which moves the router's scores a little);
- ``dynamic, 100 % hard``: at threshold 1;
- ``cascade alone``: backbone 1 + backbone 2 + detector 2, no router.

It prints a markdown table (ms/img, images/s), the speed-up of each batch
size over the first at the chosen hard ratio, and the cost of the dynamic
model over the static path at 0 % and 100 % (what dynamic inference costs
when it is off); ``--out`` writes the figures as JSON. A benchmark: run it
on a quiet machine. Example::

    CFG=configs/dynamicdet/dynamicdet-retinanet_r18-tiny_router-1e_synthetic-mixed.py
    python tools/benchmark_dynamicdet.py $CFG \\
        work_dirs/dynamicdet-retinanet_r18-tiny_router-1e_synthetic-mixed/epoch_1.pth \\
        --batch-sizes 1 8 --hard-ratio 0.5
"""
from __future__ import annotations

import argparse
import functools
import json
import platform

import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

import mmdet_dynmoe  # noqa: F401  (registers DynamicDet)
from mmdet_dynmoe.dynamicdet import route_hard, threshold_for_hard_ratio
from mmdet_dynmoe.dynamicdet.routing_evaluation import (load_dynamic_detector,
                                                        val_router_scores)
from mmdet_dynmoe.engine.speed_measurement import (at_setting, batch_seconds,
                                                   images_in,
                                                   interleaved_seconds,
                                                   preprocessed_val_batches)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None)
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument(
        '--hard-ratio',
        type=float,
        default=0.5,
        help='fraction of the images sent to detector 2 in the dynamic row')
    parser.add_argument(
        '--max-images',
        type=int,
        default=200,
        help='time the first N val images (the same at every batch size)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=5,
        help='interleaved rounds; each batch keeps its fastest')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default=None, help='JSON path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if not 0.0 <= args.hard_ratio <= 1.0:
        parser.error(f'--hard-ratio {args.hard_ratio} must lie in [0, 1]')
    if min(args.batch_sizes) < 1:
        parser.error(f'--batch-sizes {args.batch_sizes}: each must be >= 1')
    return args


def _batches(model, cfg, batch_size: int, images: int) -> list:
    """The first ``images`` val images, preprocessed in batches of
    ``batch_size`` (the last one may be smaller)."""
    batches, _ = preprocessed_val_batches(model, cfg, images, batch_size)
    out, seen = [], 0
    for batch in batches:
        keep = min(len(batch['data_samples']), images - seen)
        out.append(
            dict(
                inputs=batch['inputs'][:keep],
                data_samples=batch['data_samples'][:keep]))
        seen += keep
    return out


def settings(threshold: float, ratio: float) -> list[tuple[str, dict]]:
    """(row name, how to run it): a ``path`` runs that static path, a
    ``threshold`` the dynamic model."""
    return [
        ('detector 1 alone', dict(path=1)),
        ('dynamic, 0 % hard', dict(threshold=0.0)),
        (f'dynamic, {100 * ratio:.0f} % hard', dict(threshold=threshold)),
        ('dynamic, 100 % hard', dict(threshold=1.0)),
        ('cascade alone', dict(path=2)),
    ]


def _run(model, batches: list, how: dict):
    if 'path' in how:
        predict = functools.partial(model.predict_path, path=how['path'])
        return functools.partial(batch_seconds, model, batches, 1, predict)
    return functools.partial(at_setting, model, how,
                             functools.partial(batch_seconds, model, batches))


def benchmark(args: argparse.Namespace) -> dict:
    model, cfg = load_dynamic_detector(args.config, args.checkpoint,
                                       args.cfg_options, args.device)
    per_size = {
        b: _batches(model, cfg, b, args.max_images)
        for b in args.batch_sizes
    }
    # per size: padding to a batch's largest image moves the scores a
    # little, so one threshold need not route the same share everywhere
    scores = {
        size: val_router_scores(model, batches)
        for size, batches in per_size.items()
    }
    runs, keys = [], []
    for size, batches in per_size.items():
        threshold = threshold_for_hard_ratio(scores[size], args.hard_ratio)
        rows_of = settings(threshold, args.hard_ratio)
        for name, how in rows_of:
            runs.append(_run(model, batches, how))
            keys.append((size, name, how))
    bar = ProgressBar(len(runs) * args.repeats)  # with the time left
    seconds = interleaved_seconds(runs, args.repeats, bar.update)
    print()
    rows = []
    for (size, name, how), total in zip(keys, seconds):
        batches = per_size[size]
        images = images_in(batches)
        hard = None
        if 'threshold' in how:
            hard = float(
                route_hard(scores[size], how['threshold']).double().mean())
        rows.append(
            dict(
                batch_size=size,
                setting=name,
                threshold=how.get('threshold'),
                hard_ratio=hard if hard is not None else float(
                    how['path'] == 2),
                ms_per_image=1000 * total / images,
                images_per_s=images / total))
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        num_images=images_in(per_size[args.batch_sizes[0]]),
        repeats=args.repeats,
        device=f'{args.device} ({platform.processor() or platform.machine()}'
        f', {torch.get_num_threads()} threads)',
        rows=rows,
        **_ratios(rows, args.batch_sizes, rows_of[2][0]))
    _print(result)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'wrote {args.out}')
    return result


def _ratios(rows: list, sizes: list, dynamic: str) -> dict:
    """Speed-up of each batch size at the chosen ratio (images/s over the
    first size's), and the dynamic model's extra ms/img over the static path
    at 0 % and 100 % (relative), per batch size."""
    by = {(r['batch_size'], r['setting']): r for r in rows}
    speedup = {
        b:
        by[(b, dynamic)]['images_per_s'] /
        by[(sizes[0], dynamic)]['images_per_s']
        for b in sizes
    }
    overhead = {
        b:
        dict(
            off=by[(b, 'dynamic, 0 % hard')]['ms_per_image'] /
            by[(b, 'detector 1 alone')]['ms_per_image'] - 1,
            full=by[(b, 'dynamic, 100 % hard')]['ms_per_image'] /
            by[(b, 'cascade alone')]['ms_per_image'] - 1)
        for b in sizes
    }
    return dict(speedup=speedup, overhead=overhead)


def _print(result: dict) -> None:
    print(f'{result["num_images"]} val images, {result["repeats"]} '
          f'interleaved rounds (fastest kept per batch), {result["device"]}\n')
    print('| batch size | setting | hard ratio | ms/img | images/s |')
    print('|---:|---|---:|---:|---:|')
    for r in result['rows']:
        print(f'| {r["batch_size"]} | {r["setting"]} | '
              f'{r["hard_ratio"]:.0%} | {r["ms_per_image"]:.2f} | '
              f'{r["images_per_s"]:.1f} |')
    print()
    for size, up in result['speedup'].items():
        cost = result['overhead'][size]
        print(f'batch {size}: {up:.2f}x the images/s of batch '
              f'{next(iter(result["speedup"]))} at the same hard ratio; '
              f'dynamic at 0 % vs detector 1 alone {cost["off"]:+.1%}, '
              f'at 100 % vs the cascade {cost["full"]:+.1%}')


if __name__ == '__main__':
    benchmark(parse_args())
