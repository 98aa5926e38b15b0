"""DAMEX's routing loss: router logits against each image's dataset experts."""
from __future__ import annotations

from torch import Tensor

from mmdet_dynmoe.moe import mean_over_tokens


def routing_target_loss(logits: Tensor,
                        targets: Tensor,
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
        Scalar fp32 loss (zero, with gradient, when ``T = 0``).
    """
    ce_sum = -(targets.float() * logits.log_softmax(dim=-1)).sum()
    return mean_over_tokens(ce_sum, logits, scope)
