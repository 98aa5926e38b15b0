"""``python -m mmdet_dynmoe.synthetic OUT_DIR [options]``: write the benchmark."""
from __future__ import annotations

import argparse
import sys
import time

from .generate import generate, is_complete
from .spec import DOMAINS, SyntheticSpec


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog='make_synthetic',
        description='Write the synthetic COCO-format detection benchmark.')
    p.add_argument('out_dir', help='data root to write, e.g. data/synthetic')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--domains',
        nargs='+',
        default=list(DOMAINS),
        help=f'training domains (default: all of {list(DOMAINS)})')
    p.add_argument(
        '--num-train',
        type=int,
        default=500,
        help='training images per domain')
    p.add_argument(
        '--num-val',
        type=int,
        default=100,
        help='validation images per domain')
    p.add_argument(
        '--num-zeroshot',
        type=int,
        default=100,
        help='images of held-out categories (0: skip)')
    p.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=(128, 128),
        metavar=('W', 'H'))
    p.add_argument(
        '--hard-ratio',
        type=float,
        default=0.5,
        help='fraction of hard images (many small, occluded '
        'objects, clutter, noise, blur)')
    p.add_argument(
        '--if-missing',
        action='store_true',
        help='do nothing when OUT_DIR already holds this dataset')
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        spec = SyntheticSpec(
            domains=tuple(args.domains),
            num_train=args.num_train,
            num_val=args.num_val,
            num_zeroshot=args.num_zeroshot,
            img_size=tuple(args.img_size),
            hard_ratio=args.hard_ratio)
    except ValueError as e:
        print(f'make_synthetic: error: {e}', file=sys.stderr)
        return 2
    if args.if_missing and is_complete(args.out_dir, spec, args.seed):
        print(f'{args.out_dir}: synthetic dataset already complete, kept.')
        return 0
    start = time.time()
    meta = generate(args.out_dir, spec, seed=args.seed)
    n = len(spec.domains) * (spec.num_train + spec.num_val) + spec.num_zeroshot
    print(f'wrote {n} images, {len(meta["categories"])} categories, domains '
          f'{list(meta["domains"])} to {args.out_dir} in '
          f'{time.time() - start:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
