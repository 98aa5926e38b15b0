"""Fewer experts per token at test time: a fixed top-k or a top-p rule.

A layer trained with top-``k`` routing may run its tokens on fewer experts at
inference, without retraining (variable-speed inference):

- ``test_top_k = k'`` (``1 <= k' <= k``): each token's ``k'`` best experts;
- ``test_top_p = p`` (``0 < p <= 1``): per token the fewest of its ``k``
  chosen experts whose router probabilities reach ``p`` (at least one;
  Huang et al. 2024, "Harder Tasks Need More Experts: Dynamic Routing in MoE
  Models", within the trained top-k).

Both give a (T, k) keep mask over the router's slots; the slots left out are
not computed (the dispatch skips them, as over-capacity slots), so the saved
FLOPs are real, and the result is per token: independent of the batch and
dropless. The kept weights are rescaled to the sum of the token's full top-k
weights, so the MoE output keeps its scale (for a renormalising router this
is top-k' renormalisation). With ``k' = k`` or ``p = 1`` nothing changes.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def check_expert_budget(top_k: int, test_top_k: Optional[int],
                        test_top_p: Optional[float]) -> None:
    """Raise ValueError naming the key and its allowed range."""
    if test_top_k is not None and (isinstance(test_top_k, bool)
                                   or not isinstance(test_top_k, int)
                                   or not 1 <= test_top_k <= top_k):
        raise ValueError(f'test_top_k={test_top_k!r} must be an int in '
                         f'[1, top_k={top_k}] (or None: top_k)')
    if test_top_p is not None and not 0 < test_top_p <= 1:
        raise ValueError(f'test_top_p={test_top_p!r} must be in (0, 1] '
                         '(or None: off)')


def expert_budget_mask(chosen_probs: Tensor, test_top_k: Optional[int],
                       test_top_p: Optional[float]) -> Optional[Tensor]:
    """Which of each token's chosen slots run at test time.

    Args:
        chosen_probs: (T, k) router probabilities of the chosen experts,
            highest first.
        test_top_k: keep the first ``test_top_k`` slots; None = all.
        test_top_p: keep the fewest first slots whose probabilities sum to
            at least ``test_top_p``; None = off.

    Returns:
        (T, k) bool keep mask (the first slot always kept), or None when
        both knobs are off.
    """
    if test_top_k is None and test_top_p is None:
        return None
    num_tokens, top_k = chosen_probs.shape
    keep = torch.ones_like(chosen_probs, dtype=torch.bool)
    if test_top_k is not None:
        keep[:, test_top_k:] = False
    if test_top_p is not None:
        before = chosen_probs.cumsum(dim=-1) - chosen_probs  # mass so far
        keep &= before < test_top_p
    keep[:, 0] = True
    return keep


def rescale_kept(weights: Tensor, keep: Tensor) -> Tensor:
    """(T, k) weights of the kept slots, scaled to the full sum per token
    (zero at the others)."""
    kept = weights * keep
    scale = weights.sum(
        -1, keepdim=True) / kept.sum(
            -1, keepdim=True).clamp_min(torch.finfo(weights.dtype).tiny)
    return kept * scale
