"""The main job: synthetic benchmark -> train a detector -> COCO AP table.

Generates the default synthetic benchmark if it is missing, trains the
config through mmengine's standard runner and evaluates it with mmdet's
``CocoMetric``. ``make demo`` runs it with the defaults. The same as separate
commands::

    python tools/make_synthetic.py data/synthetic --if-missing
    python tools/train.py CONFIG --work-dir work_dirs/demo
    python tools/test.py CONFIG work_dirs/demo/epoch_N.pth
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = 'configs/baseline/dino_r18-tiny_3e_synthetic-mixed.py'
COCO_KEYS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s',
             'bbox_mAP_m', 'bbox_mAP_l')


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument(
        '--seed', type=int, default=0, help='seed of the synthetic benchmark')
    return p.parse_args()


def format_table(metrics: dict, minutes: float) -> str:
    """COCO bbox AP table (percent) from a ``runner.test()`` result."""
    names = ('AP', 'AP50', 'AP75', 'AP_s', 'AP_m', 'AP_l')
    values = [metrics.get(f'coco/{k}', float('nan')) for k in COCO_KEYS]
    head = ' | '.join(f'{n:>5}' for n in names)
    # pycocotools reports -1 for a size range with no ground truth (e.g. no
    # large objects in 128 px images): show it as n/a, not as -100.
    row = ' | '.join('  n/a' if v < 0 else f'{100 * v:5.1f}' for v in values)
    return (f'\nbbox AP on the synthetic val set ({minutes:.1f} min in all)\n'
            f'| {head} |\n|{"|".join("-" * 7 for _ in names)}|\n| {row} |')


def main() -> None:
    args = parse_args()
    os.chdir(REPO_ROOT)  # configs name data/... relative to the repository
    start = time.time()

    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmdet_dynmoe.synthetic import SyntheticSpec, generate, is_complete

    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    data_root = cfg.train_dataloader.dataset.data_root
    spec = SyntheticSpec()
    if is_complete(data_root, spec, args.seed):
        print(f'synthetic benchmark found in {data_root}')
    else:
        print(f'generating the synthetic benchmark into {data_root} ...')
        generate(data_root, spec, seed=args.seed)

    # Evaluate once, after training, through the test loop.
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    print(format_table(metrics, (time.time() - start) / 60))


if __name__ == '__main__':
    main()
