"""Inference latency of one or more configs on their val images (batch 1).

Prints median / mean ms per image of ``model(..., mode='predict')`` (data
loading and preprocessing excluded), so dense and dynamic variants can be
compared on the same machine in one run:

    python tools/benchmark_latency.py CONFIG_A[:CKPT] CONFIG_B[:CKPT] --images 50
"""
from __future__ import annotations

import argparse
import statistics
import time


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', nargs='+', help='CONFIG or CONFIG:CHECKPOINT')
    p.add_argument('--images', type=int, default=50)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None)
    return p.parse_args(argv)


def measure(config: str, checkpoint: str | None, images: int, warmup: int,
            device: str) -> list[float]:
    import torch
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate

    from mmdet_dynmoe.engine import load_model, synchronize
    model, cfg, _ = load_model(config, checkpoint, device=device)
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    times = []
    with torch.no_grad():
        for i in range(min(images + warmup, len(dataset))):
            data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
            synchronize(model)
            start = time.perf_counter()
            model(**data, mode='predict')
            synchronize(model)
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    return times


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch
    from mmdet.utils import register_all_modules

    import mmdet_dynmoe  # noqa: F401
    register_all_modules()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'device {args.device}, batch 1, {args.images} images\n')
    print('| config | median ms/img | mean ms/img |')
    print('|---|---|---|')
    for spec in args.models:
        config, _, ckpt = spec.partition(':')
        times = measure(config, ckpt or None, args.images, args.warmup,
                        args.device)
        print(
            f'| {config} | {statistics.median(times):.1f} | '
            f'{statistics.mean(times):.1f} |',
            flush=True)


if __name__ == '__main__':
    main()
