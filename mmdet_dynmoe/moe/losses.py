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


def check_loss_scope(scope: str) -> str:
    """``scope`` if it is one of :data:`LOSS_SCOPES`, else ValueError."""
    if scope not in LOSS_SCOPES:
        raise ValueError(f'loss_scope={scope!r} is not allowed; allowed: '
                         f'{list(LOSS_SCOPES)}')
    return scope


def mean_over_tokens(total: Tensor,
                     tokens: Tensor,
                     scope: str = 'global') -> Tensor:
    """``total / T`` for a loss summed over the ``T`` rows of ``tokens``.

    Under ``scope='global'`` ``T`` is the token count of all processes and
    the result is scaled by the world size, so DDP's gradient averaging
    gives the gradient of the mean over the global batch (see the module
    docstring). Method losses over router outputs use it too.

    Args:
        total: scalar sum of a per-token loss over ``tokens``' rows.
        tokens: (T, ...) any tensor with one row per token.
        scope: ``'global'`` or ``'local'``.

    Returns:
        Scalar fp32 loss.
    """
    num_tokens = _token_count(tokens)
    scale = 1.0
    if scope == 'global' and _distributed():
        num_tokens = _global_sum(num_tokens)
        scale = dist.get_world_size()
    return scale * total / num_tokens.clamp(min=1)


def load_balancing_loss(probs: Tensor,
                        indices: Tensor,
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
    return num_experts * scale * (frac *
                                  prob_sum).sum() / num_tokens.clamp(min=1)


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
    return mean_over_tokens(z_sum, logits, scope)


def importance_load_loss(logits: Tensor, indices: Tensor,
                         noise_std: float) -> Tensor:
    """Importance + load loss (Shazeer et al. 2017) as tutel v0.2 computes it.

    ``(CV^2(importance) + CV^2(load)) / 2``, with ``CV^2(v) = var(v) /
    mean(v)^2`` over the ``E`` experts (unbiased variance, as
    ``torch.var``); importance = the sum over tokens of the clean softmax
    probabilities; load = the sum over tokens of ``Phi((p_e - l_k) /
    noise_std)``, the normal CDF of how far each clean probability ``p_e``
    lies above the token's ``k``-th chosen *logit* ``l_k``. That mixes a
    probability with a logit; it is tutel's formula (``losses.
    load_importance_loss``, called with ``softmax(logits)`` and
    ``logits.gather(topk_ids)``), kept as is because the official DAMEX
    baseline trains with it. Local to the process, as in tutel.

    Args:
        logits: (T, E) fp32 clean router logits.
        indices: (T, k) chosen experts, highest first (chosen with noise).
        noise_std: the router's gate-noise std (tutel: ``gate_noise / E``),
            > 0.

    Returns:
        Scalar fp32 loss.
    """
    if not noise_std > 0:
        raise ValueError(f'importance_load_loss needs noise_std > 0 (the '
                         f"router's gate noise), got {noise_std}")
    logits = logits.float()
    probs = logits.softmax(dim=-1)
    threshold = logits.gather(1, indices[:, -1:])  # (T, 1) k-th chosen
    normal = torch.distributions.Normal(
        probs.new_zeros(()), probs.new_full((), float(noise_std)))
    load = normal.cdf(probs - threshold).sum(0)
    importance = probs.sum(0)

    def cv_squared(v: Tensor) -> Tensor:
        return v.var() / (v.mean()**2 + 1e-10)

    return (cv_squared(importance) + cv_squared(load)) / 2.0
