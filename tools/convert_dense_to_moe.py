"""Offline dense -> MoE checkpoint conversion (Dynamic-DINO's MoE-Tuning start).

Builds the MoE model of CONFIG, loads the dense checkpoint into it (each
dense FFN the config turns into an MoEFFN is upcycled while loading) and
saves the MoE checkpoint, which then loads with ``load_from`` or
``mim test`` like any checkpoint of CONFIG.

    python tools/convert_dense_to_moe.py \
        configs/dynamic_dino/dynamic-dino_r18-tiny-n4k2_1e_synthetic-mixed.py \
        work_dirs/grounding-dino_r18-tiny_3e_synthetic-mixed/epoch_3.pth \
        work_dirs/dynamic-dino_upcycled.pth
"""
from __future__ import annotations

import argparse

import torch


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='config of the MoE model (with moe_cfg)')
    p.add_argument('dense_checkpoint', help='checkpoint of the dense model')
    p.add_argument('out', help='where to write the MoE checkpoint')
    p.add_argument(
        '--seed', type=int, default=0, help='seed of the upcycled routers')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from mmdet.utils import register_all_modules

    import mmdet_dynmoe  # noqa: F401
    from mmdet_dynmoe.engine import load_model
    register_all_modules()
    torch.manual_seed(args.seed)
    model, cfg, meta = load_model(
        args.config, args.dense_checkpoint, strict=True)
    names = getattr(model, 'moe_ffn_names', [])
    if not names:
        raise SystemExit(f'{args.config} builds no MoE layer (no moe_cfg)')
    meta = dict(
        meta,
        upcycled_from=args.dense_checkpoint,
        moe_cfg=cfg.model.moe_cfg.to_dict())
    torch.save(dict(state_dict=model.state_dict(), meta=meta), args.out)
    print(f'upcycled {len(names)} FFNs ({", ".join(names)}) -> {args.out}')


if __name__ == '__main__':
    main()
