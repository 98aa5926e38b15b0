"""HierarchicalRouter: scene -> instance routing over expert groups (HI-MoE).

The ``E`` experts form ``G`` equal groups (experts ``[j*E/G, (j+1)*E/G)`` are
group ``j``). Two decisions per token:

1. *group level*: a scene router reads a summary of the token's routing unit
   and keeps its top-``g`` groups. ``group_routing='image'`` (HI-MoE): the
   unit is the image, its summary the mean of the image's valid tokens, so
   every token of an image shares one scene-consistent subset;
   ``'token'``: each token picks its own groups (two-level token routing,
   the *instance-only* ablation).
2. *expert level*: an instance router scores the experts and keeps the top-k
   *among the selected groups*. ``expert_routing='token'``: each token
   (optionally with its image's scene distribution appended) picks its own;
   ``'image'``: the image summary picks them for all its tokens (the
   *scene-only* ablation).

Both levels stay differentiable: a chosen expert's weight is its instance
weight times its group's renormalised scene probability, so the scene
router gets gradients from the detection loss, not only from the aux losses
(``combine='group_gate'``, ours). The prototype (vashkelis/himoe,
``himoe_ffn.py``) weights the chosen experts by a softmax over their
instance logits alone (``combine='instance'``); its scene router then
learns only through the scene distribution the instance router reads.
Every token still uses exactly ``top_k`` experts (equal active parameters
across the variants); the flat ablation is :class:`TopKRouter`.

The router owns its losses (:meth:`HierarchicalRouter.losses`): load
balancing over the groups and, with per-image groups, the scene diversity
loss; the layer adds them to its generic ones. Plain PyTorch, like the
engine it plugs into.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet_dynmoe.moe import (Router, RouterOutput, TokenLayout,
                              load_balancing_loss, register_router)
from mmdet_dynmoe.moe.config_checks import check_int, check_weight

GROUP_ROUTING = ('image', 'token')
EXPERT_ROUTING = ('token', 'image')
#: how a token's chosen experts are weighted (``combine=``).
COMBINE = ('group_gate', 'instance')


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
    unit = F.normalize(group_probs, dim=-1)
    sim = unit @ unit.t()
    return (sim.sum() - sim.diagonal().sum()) / (num * (num - 1))


@register_router
class HierarchicalRouter(Router):
    """Scene router over expert groups, then instance router inside them.

    Args:
        embed_dims: Token feature size ``C``.
        num_experts: Routed experts ``E``.
        top_k: Experts per token.
        num_groups: Expert groups ``G``; must divide ``E``.
        top_groups: Groups kept per routing unit, ``1 <= g <= G``; the
            kept groups must hold at least ``top_k`` experts.
        temperature: Softmax temperature of the scene router.
        group_routing: ``'image'`` (HI-MoE) or ``'token'``.
        expert_routing: ``'token'`` (HI-MoE) or ``'image'``.
        scene_to_instance: Append the unit's group distribution (G values)
            to the instance router's input.
        normalize: Renormalise the top-k instance weights to sum to 1
            before the group gate multiplies them.
        renormalize_combined: Renormalise the combined weights (instance
            weight x group gate) to sum to 1 per token, as flat top-k
            routing's do. Without it they sum to the token's chosen groups'
            gate mass (about 1/g with balanced groups), which damps the MoE
            branch. With it the group gate still weighs experts of different
            groups against each other, but cancels when a token's experts
            share one group.
        combine: ``'group_gate'`` (default): instance weight x the group's
            renormalised scene probability. ``'instance'`` (the prototype):
            softmax over the chosen experts' instance logits, weights sum
            to 1 and the scene probability does not enter
            (``normalize``/``renormalize_combined`` do not apply).
        bias: the scene and instance routers have biases (the prototype's
            ``nn.Linear`` do; default False).
        noise_std: Gaussian noise on both levels' logits in training.
        group_balance_loss_weight: weight of the load-balancing loss over
            the groups (``loss_moe_group_balance``); 0 (default) = off.
        diversity_loss_weight: weight of :func:`scene_diversity_loss`
            (``loss_moe_diversity``), only with ``group_routing='image'``
            (with per-token groups it would compare (T, T) pairs); 0
            (default) = off.
    """

    def __init__(self,
                 embed_dims: int,
                 num_experts: int,
                 top_k: int,
                 num_groups: int,
                 top_groups: int,
                 temperature: float = 1.0,
                 group_routing: str = 'image',
                 expert_routing: str = 'token',
                 scene_to_instance: bool = True,
                 normalize: bool = True,
                 renormalize_combined: bool = False,
                 combine: str = 'group_gate',
                 bias: bool = False,
                 noise_std: float = 0.0,
                 group_balance_loss_weight: float = 0.0,
                 diversity_loss_weight: float = 0.0) -> None:
        super().__init__()
        check_int('num_groups', num_groups)
        check_int('top_groups', top_groups)
        if num_experts % num_groups:
            raise ValueError(
                f'num_groups={num_groups} must divide num_experts='
                f'{num_experts} (equal groups)')
        if not 1 <= top_groups <= num_groups:
            raise ValueError(f'top_groups={top_groups} is not allowed with '
                             f'num_groups={num_groups}: need 1 <= top_groups'
                             ' <= num_groups')
        per_group = num_experts // num_groups
        if not 1 <= top_k <= top_groups * per_group:
            raise ValueError(
                f'top_k={top_k} is larger than the experts in the selected '
                f'groups: top_groups={top_groups} x {per_group} experts per '
                f'group = {top_groups * per_group}')
        if group_routing not in GROUP_ROUTING:
            raise ValueError(f'group_routing={group_routing!r}; allowed: '
                             f'{list(GROUP_ROUTING)}')
        if expert_routing not in EXPERT_ROUTING:
            raise ValueError(f'expert_routing={expert_routing!r}; allowed: '
                             f'{list(EXPERT_ROUTING)}')
        if expert_routing == 'image' and group_routing != 'image':
            raise ValueError("expert_routing='image' needs "
                             "group_routing='image'")
        if combine not in COMBINE:
            raise ValueError(f'combine={combine!r}; allowed: {list(COMBINE)}')
        if temperature <= 0 or noise_std < 0:
            raise ValueError(f'temperature={temperature} must be > 0 and '
                             f'noise_std={noise_std} >= 0')
        check_weight('group_balance_loss_weight', group_balance_loss_weight)
        check_weight('diversity_loss_weight', diversity_loss_weight)
        if diversity_loss_weight > 0 and group_routing != 'image':
            raise ValueError(
                f'diversity_loss_weight={diversity_loss_weight} needs '
                f"group_routing='image' (got {group_routing!r}): the loss "
                'compares the scene distributions of images')
        self.embed_dims = embed_dims
        self.num_experts = num_experts
        self.top_k = top_k
        self.num_groups = num_groups
        self.top_groups = top_groups
        self.experts_per_group = per_group
        self.temperature = temperature
        self.group_routing = group_routing
        self.expert_routing = expert_routing
        self.scene_to_instance = scene_to_instance
        self.normalize = normalize
        self.renormalize_combined = renormalize_combined
        self.combine = combine
        self.noise_std = noise_std
        self.group_balance_loss_weight = group_balance_loss_weight
        self.diversity_loss_weight = diversity_loss_weight
        self.scene_gate = nn.Linear(embed_dims, num_groups, bias=bias)
        self.gate = nn.Linear(
            embed_dims + (num_groups if scene_to_instance else 0),
            num_experts,
            bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for gate in (self.scene_gate, self.gate):
            nn.init.normal_(gate.weight, std=0.02)
            if gate.bias is not None:
                nn.init.zeros_(gate.bias)

    @staticmethod
    def _linear(x: Tensor, gate: nn.Linear) -> Tensor:
        bias = None if gate.bias is None else gate.bias.float()
        return F.linear(x, gate.weight.float(), bias)

    def _noisy(self, logits: Tensor) -> Tensor:
        if self.training and self.noise_std > 0:
            return logits + torch.randn_like(logits) * self.noise_std
        return logits

    def forward(self,
                x: Tensor,
                layout: Optional[TokenLayout] = None) -> RouterOutput:
        """Route ``T`` tokens of ``I`` images.

        Args:
            x: (T, C) token features (valid tokens only).
            layout: image of each token; None = all tokens one image.

        Returns:
            RouterOutput; ``group_probs`` / ``group_indices`` are per image
            (U = I) or per token (U = T).
        """
        x = x.float()
        if layout is None:
            layout = TokenLayout(
                torch.zeros(x.shape[0], dtype=torch.long, device=x.device), 1)
        if self.group_routing == 'image':
            summary = layout.image_mean(x)  # (I, C)
            unit = layout.image_index  # (T,) token -> unit
        else:
            summary = x
            unit = torch.arange(x.shape[0], device=x.device)
        # 1) scene level: top-g groups per unit, renormalised gates
        group_logits = self._noisy(
            self._linear(summary, self.scene_gate) / self.temperature)
        group_probs = group_logits.softmax(dim=-1)  # (U, G)
        gate, group_indices = group_probs.topk(self.top_groups, dim=-1)
        gate = gate / gate.sum(dim=-1, keepdim=True)
        group_gate = torch.zeros_like(group_probs).scatter(
            1, group_indices, gate)  # (U, G), 0 outside the chosen groups
        chosen = torch.zeros_like(
            group_probs, dtype=torch.bool).scatter(1, group_indices, True)
        expert_gate = group_gate.repeat_interleave(self.experts_per_group, 1)
        allowed = chosen.repeat_interleave(self.experts_per_group, 1)
        # 2) instance level: top-k experts inside the chosen groups
        source = x if self.expert_routing == 'token' else summary
        if self.scene_to_instance:
            scene = group_probs[unit] if self.expert_routing == 'token' \
                else group_probs
            source = torch.cat([source, scene], dim=-1)
        logits = self._noisy(self._linear(source, self.gate))
        if self.expert_routing == 'image':
            logits = logits[unit]  # (T, E): every token gets its image's
        allowed = allowed[unit]
        probs = logits.masked_fill(~allowed, float('-inf')).softmax(dim=-1)
        weights, indices = probs.topk(self.top_k, dim=-1)
        if self.combine == 'instance':  # softmax over the chosen logits
            weights = weights / weights.sum(dim=-1, keepdim=True)
            return RouterOutput(logits, probs, weights, indices, group_probs,
                                group_indices)
        if self.normalize:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        weights = weights * expert_gate[unit].gather(1, indices)
        if self.renormalize_combined:
            weights = weights / weights.sum(
                dim=-1, keepdim=True).clamp_min(
                    torch.finfo(weights.dtype).tiny)
        return RouterOutput(logits, probs, weights, indices, group_probs,
                            group_indices)

    def losses(self, route: RouterOutput, scope: str) -> dict[str, Tensor]:
        """Group-level balancing and scene diversity, weighted.

        Args:
            route: this router's output for one training pass.
            scope: ``'global'`` or ``'local'`` (group balancing).
        """
        out = {}
        if self.group_balance_loss_weight > 0:
            out['loss_moe_group_balance'] = \
                self.group_balance_loss_weight * load_balancing_loss(
                    route.group_probs, route.group_indices, scope)
        if self.diversity_loss_weight > 0:
            out['loss_moe_diversity'] = self.diversity_loss_weight * \
                scene_diversity_loss(route.group_probs)
        return out

    def extra_repr(self) -> str:
        return (f'num_experts={self.num_experts}, top_k={self.top_k}, '
                f'num_groups={self.num_groups}, top_groups={self.top_groups}'
                f', group_routing={self.group_routing!r}, expert_routing='
                f'{self.expert_routing!r}, temperature={self.temperature}'
                f', renormalize_combined={self.renormalize_combined}'
                f', combine={self.combine!r}')
