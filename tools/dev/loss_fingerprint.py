"""Losses of the first iterations of configs, fixed seed: a refactor check.

Trains each config for a few iterations (seed 0, deterministic, batch 2, no
workers, no validation) on a data root in the synthetic benchmark's layout
and writes every logged value of every iteration to a JSON file. Run it
before and after a change that must not change what the code computes, then
compare the two files with ``--compare``::

    python tools/make_synthetic.py /tmp/fp/data/synthetic --num-train 8 \\
        --num-val 2 --num-zeroshot 2
    python tools/dev/loss_fingerprint.py /tmp/fp before.json \\
        configs/baseline/dino_r18-tiny_3e_synthetic-mixed.py ...
    python tools/dev/loss_fingerprint.py --compare before.json after.json

``WORKDIR`` must hold ``data/synthetic`` (the configs' relative data root);
the runs' work dirs go under ``WORKDIR/runs``. ``--load-from CONFIG=CKPT``
gives a config its ``load_from`` (e.g. a DynamicDet step-2 config the
checkpoint of its step-1 run: ``WORKDIR/runs/<step-1 name>/iter_N.pth``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import os.path as osp
import sys


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('workdir', nargs='?')
    p.add_argument('out', nargs='?', help='JSON file to write')
    p.add_argument('configs', nargs='*')
    p.add_argument('--iters', type=int, default=3)
    p.add_argument(
        '--load-from', action='append', default=[], metavar='CONFIG=CKPT')
    p.add_argument(
        '--compare',
        nargs=2,
        metavar=('A', 'B'),
        help='compare two fingerprint files and exit')
    p.add_argument('--rtol', type=float, default=1e-5)
    return p.parse_args(argv)


def fingerprint(config: str, workdir: str, iters: int,
                load_from: str | None) -> list[dict]:
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    import mmdet_dynmoe  # noqa: F401

    class Record(Hook):
        priority = 'LOWEST'

        def __init__(self) -> None:
            self.rows: list[dict] = []

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None) -> None:
            self.rows.append({k: float(v) for k, v in (outputs or {}).items()})

    cfg = Config.fromfile(osp.abspath(config))
    name = osp.splitext(osp.basename(config))[0]
    cfg.work_dir = osp.join(workdir, 'runs', name)
    cfg.load_from = load_from
    cfg.resume = False
    cfg.randomness = dict(seed=0, deterministic=True)
    loader = cfg.train_dataloader
    loader.batch_size = 2
    loader.num_workers = 0
    loader.persistent_workers = False
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=10**9)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=iters, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    record = Record()
    runner.register_hook(record)
    runner.train()
    return record.rows


def compare(a_path: str, b_path: str, rtol: float) -> int:
    with open(a_path) as f:
        a = json.load(f)
    with open(b_path) as f:
        b = json.load(f)
    worst = 0
    for config in sorted(set(a) | set(b)):
        if config not in a or config not in b:
            print(f'{config}: only in {a_path if config in a else b_path}')
            worst = 1
            continue
        diffs = []
        for i, (ra, rb) in enumerate(zip(a[config], b[config])):
            if set(ra) != set(rb):
                diffs.append(f'iter {i + 1}: keys {sorted(set(ra) ^ set(rb))}')
            for key in sorted(set(ra) & set(rb)):
                if not math.isclose(
                        ra[key], rb[key], rel_tol=rtol, abs_tol=1e-7):
                    diffs.append(f'iter {i + 1} {key}: {ra[key]:.7g} vs '
                                 f'{rb[key]:.7g}')
        if len(a[config]) != len(b[config]):
            diffs.append(f'{len(a[config])} vs {len(b[config])} iterations')
        status = 'same' if not diffs else 'DIFFERENT'
        last = a[config][-1].get('loss') if a[config] else None
        print(f'{status:9s} {config} (last loss {last})')
        for line in diffs[:10]:
            print('    ' + line)
        worst = worst or int(bool(diffs))
    return worst


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.compare:
        return compare(*args.compare, rtol=args.rtol)
    if not (args.workdir and args.out and args.configs):
        raise SystemExit('give WORKDIR OUT CONFIG... (or --compare A B)')
    load_from = dict(item.split('=', 1) for item in args.load_from)
    configs = [osp.abspath(c) for c in args.configs]
    workdir = osp.abspath(args.workdir)
    out = osp.abspath(args.out)
    os.chdir(workdir)  # the configs' data root is relative: data/synthetic
    result = {}
    for config, original in zip(configs, args.configs):
        key = osp.relpath(
            config,
            osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
        rows = fingerprint(config, workdir, args.iters,
                           load_from.get(original) or load_from.get(key))
        result[key] = rows
        print(
            f'{key}: ' + ', '.join(f'{r.get("loss", float("nan")):.6f}'
                                   for r in rows),
            flush=True)
    with open(out, 'w') as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
