"""Turn a latency target (or a hard ratio) into a DynamicDet threshold.

Measures the two paths' latencies lat1, lat2 on this device, computes the
hard ratio ``k = (target - lat1) / (lat2 - lat1)`` (clamped to [0, 1] with a
warning), and takes as threshold the router score below which a fraction k
of the validation images falls. Writes ``<CKPT stem>.speed.json`` (the
speed-knob file of every calibration: ``{'knobs': {'threshold': t}, ...}``),
which ``SpeedKnobsHook`` / ``DynamicDetReportHook`` apply at ``mim test``
/ tools/test.py, and prints the equivalent ``--cfg-options``.

For a latency target the straight line is only the first guess: the tool
times the dynamic model at the chosen threshold and, while that misses the
target by more than ``--tolerance``, adds the timing as a point of a
piecewise-linear latency-vs-ratio curve and inverts that instead (at most
``--corrections`` times). It ends with a fresh timing of the final choice.

Example::

    python tools/calibrate_dynamicdet.py \
        configs/dynamicdet/dynamicdet-retinanet_r18-tiny_router-1e_synthetic-mixed.py \
        work_dirs/dynamicdet-retinanet_r18-tiny_router-1e_synthetic-mixed/epoch_1.pth \
        --target-latency 20
"""
from __future__ import annotations

import argparse
import platform

import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

import mmdet_dynmoe  # noqa: F401  (registers DynamicDet)
from mmdet_dynmoe.dynamicdet import (hard_ratio_for_latency,
                                     hard_ratio_for_latency_curve, route_hard,
                                     threshold_for_hard_ratio)
from mmdet_dynmoe.dynamicdet.routing_evaluation import (
    load_dynamic_detector, measure_path_latencies, measure_threshold_latencies,
    val_router_scores)
from mmdet_dynmoe.engine.speed_knobs import speed_file, write_speed_file
from mmdet_dynmoe.engine.speed_measurement import preprocessed_val_batches


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        '--target-latency',
        type=float,
        metavar='MS',
        help='wanted mean latency per image (ms)')
    target.add_argument(
        '--hard-ratio',
        type=float,
        metavar='R',
        help='wanted fraction of images for detector 2')
    parser.add_argument(
        '--max-images',
        type=int,
        default=None,
        help='calibrate on the first N val images')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='time each path this often, keep the fastest')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=0.02,
        help='relative latency error accepted without a correction')
    parser.add_argument(
        '--corrections',
        type=int,
        default=3,
        help='timed corrections of the latency curve (0: straight line)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--out',
        default=None,
        help='JSON path (default: next to the checkpoint)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def calibrate(args: argparse.Namespace) -> dict:
    model, cfg = load_dynamic_detector(args.config, args.checkpoint,
                                       args.cfg_options, args.device)
    batches, _ = preprocessed_val_batches(model, cfg, args.max_images)
    bar = ProgressBar(len(batches) + 2 * args.repeats)  # with the time left
    scores = val_router_scores(model, batches, bar.update)
    lat1, lat2 = measure_path_latencies(model, batches, args.repeats,
                                        bar.update)
    print()
    if args.hard_ratio is not None:
        if not 0.0 <= args.hard_ratio <= 1.0:
            raise SystemExit(f'--hard-ratio {args.hard_ratio} must lie in '
                             '[0, 1]')
        ratio = args.hard_ratio
    else:
        ratio = hard_ratio_for_latency(args.target_latency, lat1, lat2)
    threshold = threshold_for_hard_ratio(scores, ratio)
    expected = lat1 + ratio * (lat2 - lat1)
    timings, checked = [], None
    if args.target_latency is not None and 0.0 < ratio < 1.0:
        threshold, expected, timings = _correct(model, batches, scores, args, {
            0.0: lat1,
            1.0: lat2
        })
        checked = measure_threshold_latencies(model, batches, [threshold],
                                              args.repeats)[0]
        ratio = float(route_hard(scores, threshold).double().mean())
    result = dict(
        hard_ratio=ratio,
        target_latency_ms=args.target_latency,
        lat1_ms=lat1,
        lat2_ms=lat2,
        expected_latency_ms=expected,
        timings=timings,
        checked_latency_ms=checked,
        num_images=int(scores.numel()),
        device=f'{args.device} ({platform.processor() or platform.machine()}'
        f', {torch.get_num_threads()} threads)',
        config=args.config,
        checkpoint=args.checkpoint)
    out = args.out or speed_file(args.checkpoint)
    write_speed_file(out, dict(threshold=threshold), **result)
    result['threshold'] = threshold
    print(f'lat1 (detector 1) {lat1:.2f} ms/img, lat2 (detector 2) '
          f'{lat2:.2f} ms/img on {result["device"]}')
    check = '' if checked is None else \
        f', timed again after {checked:.2f} ms/img'
    print(f'hard ratio {ratio:.3f} -> threshold {threshold:.6f} '
          f'({result["num_images"]} val images); expected '
          f'{result["expected_latency_ms"]:.2f} ms/img{check}')
    print(f'wrote {out} (DynamicDetReportHook applies it at test time); or '
          f'pass --cfg-options model.threshold={threshold:.6f}')
    return result


def _correct(model, batches: list, scores: torch.Tensor,
             args: argparse.Namespace,
             anchors: dict[float, float]) -> tuple[float, float, list]:
    """Threshold for ``args.target_latency`` on a latency curve refined
    by timing each choice; returns (threshold, its timed latency, the
    timings as ``[{hard_ratio, threshold, latency_ms}]``)."""
    target, timings = args.target_latency, []
    for _ in range(args.corrections + 1):
        ratio = hard_ratio_for_latency_curve(target, anchors)
        threshold = threshold_for_hard_ratio(scores, ratio)
        reached = float(route_hard(scores, threshold).double().mean())
        latency = measure_threshold_latencies(model, batches, [threshold],
                                              args.repeats)[0]
        timings.append(
            dict(hard_ratio=reached, threshold=threshold, latency_ms=latency))
        print(
            f'  hard ratio {reached:.3f} (threshold {threshold:.6f}): '
            f'{latency:.2f} ms/img',
            flush=True)
        if abs(latency - target) <= args.tolerance * target or \
                reached in anchors:
            break
        anchors[reached] = latency
    best = min(timings, key=lambda t: abs(t['latency_ms'] - target))
    return best['threshold'], best['latency_ms'], timings


if __name__ == '__main__':
    calibrate(parse_args())
