"""MoE layers under 2-process CPU (gloo) DistributedDataParallel."""
from __future__ import annotations

import os.path as osp
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from mmdet_dynmoe.moe import MoELayer, pop_moe_aux_losses

# Unequal token counts per process, as DETR denoising queries produce.
SPLIT = (37, 53)
STEPS = 2


def make_model() -> nn.Module:
    torch.manual_seed(0)
    losses = dict(balance_loss_weight=0.01, z_loss_weight=0.001)
    model = nn.Sequential(
        MoELayer(
            16,
            24,
            num_experts=6,
            top_k=2,
            dispatch='loop',
            router_cfg=dict(type='TopKRouter', bias=True),
            **losses), nn.LayerNorm(16),
        MoELayer(16, 24, num_experts=4, top_k=1, dispatch='dense', **losses))
    with torch.no_grad():  # experts 4 and 5 of the first layer get no token
        model[0].router.gate.bias.copy_(torch.tensor([3., 3, 3, 3, -50, -50]))
    return model


def batch(step: int) -> torch.Tensor:
    return torch.randn(
        sum(SPLIT), 16, generator=torch.Generator().manual_seed(step))


def step_loss(model: nn.Module, x: torch.Tensor, num_global: int,
              world_size: int) -> torch.Tensor:
    """Global-batch mean task loss (scaled for DDP's gradient averaging)
    plus the routing losses. ``model`` may be DDP-wrapped."""
    task = model(x).pow(2).mean(-1).sum() * world_size / num_global
    inner = getattr(model, 'module', model)
    return task + sum(pop_moe_aux_losses(inner).values())


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group(
        'gloo',
        init_method=f'file://{init_file}',
        rank=rank,
        world_size=2,
        timeout=timedelta(seconds=120))  # fail, not hang
    model = nn.parallel.DistributedDataParallel(make_model())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    start = sum(SPLIT[:rank])
    for step in range(STEPS):
        x = batch(step)[start:start + SPLIT[rank]]
        opt.zero_grad()
        step_loss(model, x, sum(SPLIT), 2).backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        opt.step()
    torch.save(grads, osp.join(out_dir, f'grads{rank}.pth'))
    # Free DDP (its reducer uses the process group) before destroying the
    # group: a DDP collected after destroy_process_group() can hang.
    del model, opt
    dist.barrier()
    dist.destroy_process_group()


def test_ddp_training_matches_one_process_on_the_global_batch(tmp_path):
    mp.spawn(
        _worker,
        args=(str(tmp_path / 'init'), str(tmp_path)),
        nprocs=2,
        join=True)
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(STEPS):
        opt.zero_grad()
        step_loss(model, batch(step), sum(SPLIT), 1).backward()
        expected = {
            f'module.{n}': p.grad.clone()
            for n, p in model.named_parameters()
        }
        opt.step()
    for rank in range(2):
        grads = torch.load(tmp_path / f'grads{rank}.pth')
        assert grads.keys() == expected.keys()
        for name, grad in expected.items():
            torch.testing.assert_close(
                grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    # The experts that never got a token were synchronised too (zero grads).
    assert expected['module.0.experts.w1'][4:].abs().sum() == 0
