"""Turn a latency or GFLOPs target into speed-knob values for ``mim test``.

The discrete knobs (``decoder_depth``, ``test_top_k``) start from the
sweep's Pareto front (``--sweep``: its settings at or above the target,
cheapest first, then the full model) or from ``--set``; from the first start
where a continuous knob (``decoder_exit``, then ``test_top_p``, or the one
``--knob`` names) can reach the target, that knob is bisected on the
validation images until the measured cost is within ``--tolerance`` of the
target. Both continuous knobs cut cost monotonically (a larger exit
threshold lets every image leave no later; a smaller p keeps no more
experts). For a latency target on ``decoder_exit`` the bisection does not
time every step: the two ends are timed, and a threshold's latency is read
off the decoder layers its images run, linearly between the ends (as
DynamicDet's calibration interpolates between its two paths by the hard
ratio), so timing noise does not steer the search; the choice is timed, and
where it misses, that timing joins the ends as a point of the
(piecewise-linear) model (``--corrections`` times); the final setting is
timed afresh once more. Writes ``<CKPT stem>.speed.json``, which
``SpeedKnobsHook`` applies at ``mim test`` / tools/test.py, and prints the
equivalent ``--cfg-options``. A target outside what the knobs reach is
clamped, with a warning.

Example::

    python tools/sweep_speed.py CONFIG CKPT --out work_dirs/speed_sweep
    python tools/calibrate_speed.py CONFIG CKPT --target-latency 40 \\
        --sweep work_dirs/speed_sweep/sweep.json
    python tools/test.py CONFIG CKPT   # runs at the calibrated knobs
"""
from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from typing import Any, Callable, Optional

import numpy as np
import torch
from mmengine.config import DictAction

import mmdet_dynmoe  # noqa: F401  (registers our detectors)
from mmdet_dynmoe.engine import load_model
from mmdet_dynmoe.engine import speed_measurement as measure
from mmdet_dynmoe.engine.speed_knobs import (parse_knob_value, speed_file,
                                             speed_knobs, write_speed_file)

#: continuous knob -> its value at "aggressiveness" u in [0, 1] (0: off)
CONTINUOUS = {
    'decoder_exit': lambda u: None if u <= 0 else round(u, 6),
    'test_top_p': lambda u: None if u <= 0 else round(1 - 0.99 * u, 6),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        '--target-latency',
        type=float,
        metavar='MS',
        help='wanted mean latency per image (ms, this device, the val '
        'batch size)')
    target.add_argument(
        '--target-gflops',
        type=float,
        metavar='G',
        help='wanted mean GFLOPs (multiply-adds) per image')
    parser.add_argument(
        '--sweep', help='sweep.json of tools/sweep_speed.py for this model')
    parser.add_argument(
        '--set',
        action='append',
        default=[],
        metavar='NAME=V',
        help='fix a knob (instead of taking it from --sweep)')
    parser.add_argument(
        '--knob',
        default=None,
        choices=sorted(CONTINUOUS),
        help='the continuous knob to bisect (default decoder_exit when the '
        'model has it, else test_top_p)')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=0.02,
        help='stop when the cost is within this fraction of the target')
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument(
        '--corrections',
        type=int,
        default=3,
        help='decoder_exit latency targets: timings added to the layer-based '
        'cost model where its choice misses the target')
    parser.add_argument(
        '--latency-images',
        type=int,
        default=None,
        help='time on the first N val images only (AP: all of them)')
    parser.add_argument('--max-images', type=int, default=None)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--flops-images', type=int, default=8)
    parser.add_argument('--metric', default=None)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--out',
        default=None,
        help='JSON path (default: next to the checkpoint)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def candidates_from_sweep(path: str, cost: str, target: float) -> list:
    """Discrete starting settings from a sweep's Pareto front: the front's
    points at or above the target, cheapest first (a continuous knob then
    brings the cost down to the target), then the full model."""
    with open(path) as f:
        points = json.load(f)['points']
    front = sorted((p for p in points if p[f'pareto_{cost}']),
                   key=lambda p: p[cost])
    out: list[dict] = []
    for p in front:
        if p[cost] >= target:
            knobs = {
                k: v
                for k, v in p['knobs'].items()
                if k not in CONTINUOUS and v is not None
            }
            if knobs not in out:
                out.append(knobs)
    return out + ([{}] if {} not in out else [])


def best_within(path: str, cost: str, target: float) -> Optional[dict]:
    """The best-AP sweep point whose cost is at most the target."""
    with open(path) as f:
        points = json.load(f)['points']
    within = [p for p in points if p[cost] <= target]
    return max(within, key=lambda p: p['ap']) if within else None


def bisect(cost_at: Callable[[float], float],
           target: float,
           tolerance: float,
           steps: int,
           ends: Optional[tuple[float, float]] = None) -> tuple:
    """The aggressiveness u in [0, 1] whose cost is nearest ``target``.

    ``cost_at`` falls (up to noise) as u grows; ``ends``: its costs at u = 0
    and 1 when already measured. Returns (u, cost, history).
    """
    lo_cost, hi_cost = ends if ends else (cost_at(0.0), cost_at(1.0))
    history = [(0.0, lo_cost), (1.0, hi_cost)]
    if lo_cost <= target * (1 + tolerance):
        if lo_cost < target * (1 - tolerance):
            warnings.warn(f'target {target:.4g} is above the cost with the '
                          f'knob off ({lo_cost:.4g}): no knob needed')
        return 0.0, lo_cost, history
    if hi_cost >= target * (1 - tolerance):
        if hi_cost > target * (1 + tolerance):
            warnings.warn(f'target {target:.4g} is below the cheapest this '
                          f'knob reaches ({hi_cost:.4g}): clamped; fix a '
                          'smaller decoder_depth / test_top_k with --set')
        return 1.0, hi_cost, history
    lo, hi = 0.0, 1.0
    best = min(history, key=lambda h: abs(h[1] - target))
    for _ in range(steps):
        mid = (lo + hi) / 2
        cost = cost_at(mid)
        history.append((mid, cost))
        if abs(cost - target) < abs(best[1] - target):
            best = (mid, cost)
        if abs(cost - target) <= tolerance * target:
            break
        lo, hi = (mid, hi) if cost > target else (lo, mid)
    return best[0], best[1], history


def layer_cost_model(layers_at: Callable[[float], float],
                     anchors: dict[float, float]) -> Callable:
    """Latency at exit aggressiveness u, read off the mean decoder layers
    per image at u (``layers_at``, deterministic): piecewise linear through
    the timed ``anchors`` (layers -> ms: the two ends, then each timed
    choice), so timing noise does not steer the bisection between timings.
    """
    xs, ys = zip(*sorted(anchors.items()))

    def cost(u: float) -> float:
        layers = layers_at(u)
        value = float(np.interp(layers, xs, ys))
        print(
            f'  decoder_exit u={u:.4g}: {layers:.3f} layers/img -> '
            f'{value:.4g} ms/img (interpolated)',
            flush=True)
        return value

    return cost


def calibrate(args: argparse.Namespace) -> dict:
    model, cfg, _ = load_model(args.config, args.checkpoint, args.cfg_options,
                               args.device)
    available = speed_knobs(model)
    knobs_to_try = [args.knob] if args.knob else \
        [k for k in CONTINUOUS if k in available]
    if not knobs_to_try or knobs_to_try[0] not in available:
        raise SystemExit(f'{type(model).__name__} has no continuous speed '
                         f'knob {knobs_to_try or list(CONTINUOUS)} (its '
                         f'knobs: {sorted(available)})')
    cost = 'latency_ms' if args.target_latency is not None else 'gflops'
    target = args.target_latency if cost == 'latency_ms' else \
        args.target_gflops
    given = {}
    for spec in args.set:
        name, _, value = spec.partition('=')
        given[name] = parse_knob_value(value)
    starts = [
        dict(s, **given)
        for s in candidates_from_sweep(args.sweep, cost, target)
    ] if args.sweep else [given]
    batches, dataset_meta = measure.preprocessed_val_batches(
        model, cfg, args.max_images)
    timed = measure.first_images(batches, args.latency_images)

    def cost_of(knobs: dict) -> float:
        if cost == 'latency_ms':
            value = measure.interleaved_latencies(model, [knobs], timed,
                                                  args.repeats)[0]
        else:
            value = measure.at_setting(
                model, knobs,
                lambda: measure.mean_gflops(model, timed, args.flops_images))
        print(
            f'  {label(knobs)}: {value:.4g} '
            f'{"ms/img" if cost == "latency_ms" else "GFLOPs/img"}',
            flush=True)
        return value

    def mean_layers(knobs: dict) -> Optional[float]:
        _, layers = measure.at_setting(
            model, knobs, lambda: measure.predict_all(model, timed))
        return measure.mean_decoder_layers(layers)

    # the first start (cheapest first) and continuous knob whose range
    # [cost at u=1, cost at u=0] holds the target; else the nearest end
    chosen = None
    for start in starts:
        for knob in knobs_to_try:
            if knob in start:
                continue

            def setting(u: float, start=start, knob=knob) -> dict:
                return dict(start, **{knob: CONTINUOUS[knob](u)})

            ends = (cost_of(setting(0.0)), cost_of(setting(1.0)))
            reach = ends[1] * (1 - args.tolerance) <= target <= \
                ends[0] * (1 + args.tolerance)
            miss = 0.0 if reach else min(abs(e - target) for e in ends)
            if chosen is None or miss < chosen[0]:
                chosen = (miss, setting, ends, knob)
            if reach:
                break
        if chosen is not None and chosen[0] == 0.0:
            break
    miss, setting, ends, knob = chosen
    under = best_within(args.sweep, cost, target) if args.sweep else None
    if miss > 0 and under is not None and ends[1] > target:
        # no continuous knob gets down to the target from any start: the
        # best sweep setting under it (a gap between discrete settings)
        warnings.warn(f'no continuous knob reaches {cost} {target:g}; '
                      f'taking the best sweep setting under it, '
                      f'{under["label"]} ({under[cost]:.4g} in the sweep)')
        knobs = {k: v for k, v in under['knobs'].items() if v is not None}
        achieved = cost_of(knobs)
        steps = [(label(knobs), achieved)]
        cost_model = 'timed'
    else:
        print(f'bisecting for {cost} {target:g} from {label(setting(0.0))}')
        layers_cache: dict[float, Optional[float]] = {}

        def layers_at(u: float) -> Optional[float]:
            if u not in layers_cache:
                layers_cache[u] = mean_layers(setting(u))
            return layers_cache[u]

        by_layers = cost == 'latency_ms' and knob == 'decoder_exit' and (
            layers_at(0.0) or 0) > (
                layers_at(1.0) or 0)
        cost_model = 'timed' if not by_layers else \
            'decoder layers per image, piecewise linear through timings'
        if not by_layers:
            u, achieved, history = bisect(lambda u: cost_of(setting(u)),
                                          target, args.tolerance, args.steps,
                                          ends)
        else:
            # deterministic between timings: bisect on the layers, time the
            # choice, add it as an anchor where the target is missed
            anchors = {layers_at(0.0): ends[0], layers_at(1.0): ends[1]}
            history = [(0.0, ends[0]), (1.0, ends[1])]
            for _ in range(args.corrections + 1):
                u, _, _ = bisect(
                    layer_cost_model(layers_at, anchors), target,
                    args.tolerance / 4, 2 * args.steps, ends)
                achieved = ends[0] if u == 0 else ends[1] if u == 1 else \
                    cost_of(setting(u))
                history.append((u, achieved))
                if u in (0.0, 1.0) or \
                        abs(achieved - target) <= args.tolerance * target:
                    break
                anchors[layers_at(u)] = achieved  # the newest timing
        knobs = {k: v for k, v in setting(u).items() if v is not None}
        steps = [(label(setting(h[0])), h[1]) for h in history]
    checked = None
    if cost == 'latency_ms':  # a fresh timing of the chosen setting
        checked = measure.interleaved_latencies(model, [knobs], timed,
                                                args.repeats)[0]
    preds, _ = measure.at_setting(model, knobs,
                                  lambda: measure.predict_all(model, batches))
    metrics = measure.evaluate_predictions(
        measure.build_val_metric(cfg, dataset_meta), preds)
    result = dict(
        target={cost: target},
        achieved={cost: achieved},
        cost_model=cost_model,
        checked_latency_ms=checked,
        checked_error=None if checked is None else checked / target - 1,
        ap=measure.headline_ap(metrics, args.metric),
        num_images=len(preds),
        latency_images=sum(len(b['data_samples']) for b in timed),
        batch_size=cfg.val_dataloader.batch_size,
        device=f'{args.device} ({platform.processor() or platform.machine()}'
        f', {torch.get_num_threads()} threads)',
        date=time.strftime('%Y-%m-%d'),
        bisection=[dict(setting=n, cost=c) for n, c in steps],
        config=args.config,
        checkpoint=args.checkpoint)
    out = args.out or speed_file(args.checkpoint)
    write_speed_file(out, knobs, **result)
    options = ' '.join(_cfg_option(k, v) for k, v in knobs.items())
    check = '' if checked is None else \
        f', timed again after the bisection {checked:.4g}'
    print(f'{knobs}: {achieved:.4g} (target {target:g}{check}), AP '
          f'{100 * result["ap"]:.1f} on {len(preds)} val images')
    print(f'wrote {out} (SpeedKnobsHook applies it at test time)' +
          (f'; or pass --cfg-options {options}' if options else ''))
    return result


def label(knobs: dict) -> str:
    """``{'decoder_exit': 0.1}`` -> ``'decoder_exit=0.1'``; full -> full."""
    parts = [f'{k}={v}' for k, v in knobs.items() if v is not None]
    return ', '.join(parts) or 'full'


def _cfg_option(name: str, value: Optional[Any]) -> str:
    if name in ('decoder_depth', 'decoder_exit'):
        return f'model.test_cfg.{name}={value}'
    return f'model.moe_cfg.{name}={value}'


if __name__ == '__main__':
    calibrate(parse_args())
