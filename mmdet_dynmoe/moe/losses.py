"""Routing losses: load balancing (Switch / GShard) and router z-loss (ST-MoE).

Under ``torch.distributed`` the token statistics are summed over all
processes first (``scope='global'``), and each process's loss is scaled so
that DDP's gradient averaging yields exactly the gradient of the loss on the
global batch, even when processes hold different token counts (DETR
denoising queries vary per batch). ``scope='local'`` skips the all-reduce and
balances each process's tokens on their own.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor

LOSS_SCOPES = ('global', 'local')


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and \
        dist.get_world_size() > 1


def _token_count(t: Tensor) -> Tensor:
    """Rows of ``t`` as a 0-dim fp32 tensor on its device.

    Filled on the device (no host-to-device copy, which would synchronise
    CUDA), so that it can be all-reduced under ``scope='global'``.
    """
    return t.new_full((), float(t.shape[0]), dtype=torch.float32)


def _global_sum(t: Tensor) -> Tensor:
    t = t.detach().clone()
    dist.all_reduce(t)
    return t


def load_balancing_loss(probs: Tensor, indices: Tensor,
                        scope: str = 'global') -> Tensor:
    """``E * sum_e f_e * P_e`` (Switch Transformer, eq. 4; GShard for k>1).

    ``f_e`` is the fraction of the ``T * k`` routing slots that chose expert
    ``e`` (not differentiable), ``P_e`` the mean router probability of ``e``.
    Equals 1 for perfectly uniform routing, ``E / k`` at worst.

    Args:
        probs: (T, E) fp32 router probabilities.
        indices: (T, k) chosen experts.
        scope: ``'global'`` or ``'local'`` (see module docstring).

    Returns:
        Scalar fp32 loss.
    """
    num_experts = probs.shape[1]
    # A comparison + sum rather than bincount, which synchronises on CUDA.
    experts = torch.arange(num_experts, device=indices.device)
    counts = (indices.reshape(-1, 1) == experts).sum(0).to(probs.dtype)
    prob_sum = probs.sum(0)
    num_tokens = _token_count(probs)
    scale = 1.0
    if scope == 'global' and _distributed():
        counts = _global_sum(counts)
        num_tokens = _global_sum(num_tokens)
        scale = dist.get_world_size()
    frac = counts / counts.sum().clamp(min=1)
    return num_experts * scale * (frac * prob_sum).sum() / num_tokens.clamp(
        min=1)


def router_z_loss(logits: Tensor, scope: str = 'global') -> Tensor:
    """Mean squared log-partition of the router logits (ST-MoE, eq. 5).

    Keeps logits small, which keeps the router's softmax numerically stable.

    Args:
        logits: (T, E) fp32 router logits.
        scope: ``'global'`` or ``'local'``.

    Returns:
        Scalar fp32 loss.
    """
    z_sum = torch.logsumexp(logits, dim=-1).square().sum()
    num_tokens = _token_count(logits)
    scale = 1.0
    if scope == 'global' and _distributed():
        num_tokens = _global_sum(num_tokens)
        scale = dist.get_world_size()
    return scale * z_sum / num_tokens.clamp(min=1)


def scene_diversity_loss(group_probs: Tensor) -> Tensor:
    """Mean cosine similarity between different units' group distributions.

    Pushes images (HI-MoE's routing units) towards different expert groups
    so that the scene level does not send every image to the same subset.
    0 for orthogonal distributions, 1 when all units agree; 0 with fewer
    than two units. Local to the process (pairs across processes are not
    formed).

    Args:
        group_probs: (U, G) fp32 group probabilities per unit.

    Returns:
        Scalar fp32 loss.
    """
    num = group_probs.shape[0]
    if num < 2:
        return group_probs.sum() * 0.0
    unit = torch.nn.functional.normalize(group_probs, dim=-1)
    sim = unit @ unit.t()
    return (sim.sum() - sim.diagonal().sum()) / (num * (num - 1))


def routing_target_loss(logits: Tensor, targets: Tensor,
                        scope: str = 'global') -> Tensor:
    """Cross-entropy of router logits against given expert distributions.

    Supervised routing (DAMEX): each token is taught to go to the expert(s)
    its targets name, e.g. the expert mapped to its image's dataset.

    Args:
        logits: (T, E) fp32 router logits.
        targets: (T, E) target probabilities (rows sum to 1).
        scope: ``'global'`` (mean over all processes' tokens) or
            ``'local'``.

    Returns:
        Scalar fp32 loss.
    """
    ce_sum = -(targets.float() * logits.log_softmax(dim=-1)).sum()
    num_tokens = _token_count(logits)
    scale = 1.0
    if scope == 'global' and _distributed():
        num_tokens = _global_sum(num_tokens)
        scale = dist.get_world_size()
    return scale * ce_sum / num_tokens.clamp(min=1)
