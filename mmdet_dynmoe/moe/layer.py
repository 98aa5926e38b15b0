"""MoELayer: route -> dispatch to experts -> combine (+ shared experts, bias).

``y = routed_scale * sum_j w_j(x) * expert_{i_j}(x) + shared(x) + bias``

(with ``output_bias='per_expert'``, tutel's layout, the bias is inside each
expert instead: ``sum_j w_j * (expert_{i_j}(x) + b_{i_j})``.)

The layer keeps the routing losses of its training forward passes until a
caller takes them with :meth:`MoELayer.pop_aux_losses` (see
:mod:`mmdet_dynmoe.moe.collect`); eval forward passes compute none. The
losses are the generic ones (load balancing, z-loss) plus whatever the
router returns from its own ``losses()`` (see :class:`.router.Router`).
A method that computes a loss of its own from the routing decisions (e.g.
a supervised routing target) sets ``keep_routing`` and takes the training
passes' :class:`RoutingRecord` s with :meth:`MoELayer.pop_routing`.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
from torch import Tensor, nn

from .config_checks import check_int, check_weight
from .dispatch import capacity_keep_mask, check_dispatch_path, dispatch
from .expert_budget import (check_expert_budget, expert_budget_mask,
                            rescale_kept)
from .experts import GroupedExperts
from .losses import check_loss_scope, load_balancing_loss, router_z_loss
from .router import RouterOutput, build_router
from .stats import RoutingStats
from .token_layout import TokenLayout, flatten_tokens

#: where the experts' output bias sits (``MoELayer(output_bias=...)``).
OUTPUT_BIAS = ('shared', 'per_expert', 'per_expert_frozen')
#: how a fresh layer is initialised (``MoELayer(init=...)``).
INITS = ('linear', 'xavier')


class RoutingRecord(NamedTuple):
    """One training pass's routing, for losses computed outside the layer.

    Attributes:
        route: the router's decision for the pass's routed tokens (T', ...).
        layout: the image of each routed token (T',).
        selected: (B*N,) / (T,) bool, which of the input's tokens were
            routed (False: padding); None when all were.
        token_shape: the input's shape without channels, (B, N) or (T,).
    """
    route: RouterOutput
    layout: TokenLayout
    selected: Optional[Tensor]
    token_shape: torch.Size

    def routed(self, token_mask: Tensor) -> Tensor:
        """(T',) bool: ``token_mask`` (of ``token_shape``) on the routed
        tokens."""
        if tuple(token_mask.shape) != tuple(self.token_shape):
            raise ValueError(
                f'token mask of shape {tuple(token_mask.shape)} for a pass '
                f'over tokens of shape {tuple(self.token_shape)}')
        chosen = token_mask.reshape(-1).to(self.route.logits.device)
        return chosen if self.selected is None else chosen[self.selected]


class MoELayer(nn.Module):
    """A routed mixture of two-layer MLP experts.

    Args:
        embed_dims: Token size ``C``.
        hidden_channels: Hidden size of one routed expert.
        num_experts: Routed experts ``E``.
        top_k: Experts per token.
        router_cfg: ``dict(type='TopKRouter', normalize=True, noise_std=0.,
            jitter_eps=0.)``; ``type`` must be one of
            :data:`mmdet_dynmoe.moe.router.ROUTERS` (methods add theirs,
            e.g. HI-MoE's ``'HierarchicalRouter'``).
        activation: Element-wise activation module (default ReLU).
        dropout: Dropout after the experts' activation.
        num_shared_experts: Always-on experts (DeepSeekMoE), each of
            ``hidden_channels``, added without a gate.
        routed_scale: Factor on the routed sum. Upcycling sets it to the
            granularity ``k``: renormalised weights sum to 1, while the ``k``
            slices of a dense FFN must be summed.
        capacity_factor: None = dropless (default). Otherwise in training
            each expert takes at most ``ceil(cf * T * k / E)`` slots, kept
            by the router's score (first choices first, then the tokens
            with the highest top probability, ties by position); slots
            over it are not computed and are counted in
            ``moe_dropped_slots``. Eval is dropless unless
            ``capacity_at_test``.
        capacity_at_test: apply ``capacity_factor`` in eval too (tutel and
            the official DAMEX code do; a dropped slot then adds nothing, so
            a token all of whose slots drop gets only the residual). Off by
            default: at test time every token gets its experts.
        dispatch: ``'auto'``, ``'loop'``, ``'grouped_mm'`` or ``'dense'``
            (see :mod:`mmdet_dynmoe.moe.dispatch`).
        balance_loss_weight: Weight of the load-balancing loss; 0 (the
            default) turns it off. Method configs switch it on.
        z_loss_weight: Weight of the router z-loss; 0 (default) = off.
        loss_scope: ``'global'`` (statistics over all DDP processes) or
            ``'local'``; the router's own losses use it too.
        output_bias: ``'shared'`` (default): one trainable bias added after
            combining, which is what makes an upcycled dense FFN sum back
            exactly. ``'per_expert'``: each expert has its own output bias,
            weighted with its gate (tutel's layout); ``'per_expert_frozen'``:
            the same, not trained (DAMEX: ``mlp_fc2_bias=False`` freezes
            tutel's ``batched_fc2_bias`` at its initial value).
        init: fresh initialisation. ``'linear'`` (default): each expert
            like an ``nn.Linear`` pair, the router from N(0, 0.02), the
            shared bias 0. ``'xavier'`` (the official DAMEX code, whose DINO
            transformer re-draws every >= 2-D parameter with
            ``xavier_uniform_``, tutel's stacked experts included): xavier
            over tutel's tensor shapes, ``w1``/``w2`` as (E, H, C), ``b1``
            (E, H), the per-expert output bias (E, C) and the router's
            (E, C) weight. Expert outputs start about 100x smaller than with
            ``'linear'``.
        test_top_k: eval only: run each token on its ``test_top_k`` best
            experts (``1 <= test_top_k <= top_k``); None = ``top_k``. See
            :mod:`.expert_budget`.
        test_top_p: eval only: per token the fewest of its chosen experts
            whose router probabilities reach ``test_top_p`` (in (0, 1]);
            None = off. Skipped slots are not computed.
        check_finite: debugging aid, off by default: every forward pass
            checks its input and raises ``FloatingPointError`` naming the
            layer (:attr:`name`) and the first NaN/inf token. Costs a host
            sync per layer; turn it on when a loss goes NaN.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_channels: int,
                 num_experts: int,
                 top_k: int,
                 router_cfg: Optional[dict] = None,
                 activation: Optional[nn.Module] = None,
                 dropout: float = 0.0,
                 num_shared_experts: int = 0,
                 routed_scale: float = 1.0,
                 capacity_factor: Optional[float] = None,
                 dispatch: str = 'auto',
                 balance_loss_weight: float = 0.0,
                 z_loss_weight: float = 0.0,
                 loss_scope: str = 'global',
                 check_finite: bool = False,
                 capacity_at_test: bool = False,
                 output_bias: str = 'shared',
                 init: str = 'linear',
                 test_top_k: Optional[int] = None,
                 test_top_p: Optional[float] = None) -> None:
        super().__init__()
        check_int('embed_dims', embed_dims)
        check_int('hidden_channels', hidden_channels)
        check_int('num_experts', num_experts)
        check_int('top_k', top_k)
        check_int('num_shared_experts', num_shared_experts, minimum=0)
        if not 1 <= top_k <= num_experts:
            raise ValueError(f'top_k={top_k} is not allowed with num_experts='
                             f'{num_experts}: need 1 <= top_k <= num_experts')
        if capacity_factor is not None and capacity_factor <= 0:
            raise ValueError(f'capacity_factor={capacity_factor} must be > 0 '
                             'or None (dropless)')
        check_weight('balance_loss_weight', balance_loss_weight)
        check_weight('z_loss_weight', z_loss_weight)
        if output_bias not in OUTPUT_BIAS:
            raise ValueError(f'output_bias={output_bias!r}; allowed: '
                             f'{list(OUTPUT_BIAS)}')
        if init not in INITS:
            raise ValueError(f'init={init!r}; allowed: {list(INITS)}')
        check_expert_budget(top_k, test_top_k, test_top_p)
        if capacity_at_test and capacity_factor is None:
            raise ValueError('capacity_at_test=True needs a capacity_factor '
                             '(None is dropless)')
        self.embed_dims = embed_dims
        self.num_experts = num_experts
        self.top_k = top_k
        self.routed_scale = routed_scale
        self.capacity_factor = capacity_factor
        self.capacity_at_test = bool(capacity_at_test)
        #: test-time expert budget (see :mod:`.expert_budget`); settable
        #: after training, e.g. by ``--cfg-options``
        self.test_top_k = test_top_k
        self.test_top_p = test_top_p
        self.output_bias = output_bias
        self.init = init
        self.dispatch = check_dispatch_path(dispatch)
        self.balance_loss_weight = balance_loss_weight
        self.z_loss_weight = z_loss_weight
        self.loss_scope = check_loss_scope(loss_scope)
        self.check_finite = bool(check_finite)
        #: the layer's place in its model, for error messages (set by whoever
        #: builds the model, e.g. the module path of the FFN it replaced)
        self.name: Optional[str] = None
        activation = activation if activation is not None else nn.ReLU()
        self.router = build_router(
            router_cfg or dict(type='TopKRouter'), embed_dims, num_experts,
            top_k)
        self.experts = GroupedExperts(num_experts, embed_dims, hidden_channels,
                                      activation, dropout)
        self.shared_experts = GroupedExperts(
            1, embed_dims, hidden_channels * num_shared_experts, activation,
            dropout) if num_shared_experts else None
        # shared: (C,) after combining; per expert: (E, C), gate-weighted
        self.bias = nn.Parameter(
            torch.zeros(embed_dims) if output_bias == 'shared' else
            torch.zeros(num_experts, embed_dims),
            requires_grad=output_bias != 'per_expert_frozen')
        self.stats = RoutingStats(num_experts)
        # Whether training passes keep their routing losses for
        # pop_aux_losses(); a caller that never pops should turn this off.
        self.record_aux = True
        self._aux: dict[str, Tensor] = {}
        # Whether training passes keep their RoutingRecord for pop_routing()
        # (set by a method that computes its own loss from the routing).
        self.keep_routing = False
        self._routing: list[RoutingRecord] = []
        if init != 'linear':
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fresh (not upcycled) initialisation of router, experts and bias,
        as ``init`` says."""
        self.experts.reset_parameters()
        if self.shared_experts is not None:
            self.shared_experts.reset_parameters()
        self.router.reset_parameters()
        nn.init.zeros_(self.bias)
        if self.init == 'xavier':
            self._reset_xavier()

    @torch.no_grad()
    def _reset_xavier(self) -> None:
        """xavier_uniform over tutel's shapes (see ``init``)."""
        experts = [self.experts
                   ] + ([self.shared_experts] if self.shared_experts else [])
        for ex in experts:
            # ours: w1 (E, C, H), w2 (E, H, C); tutel's: both (E, H, C)
            for w in (ex.w1, ex.w2):
                tutel = w if w is ex.w2 else w.transpose(1, 2)
                tutel.copy_(nn.init.xavier_uniform_(torch.empty_like(tutel)))
            nn.init.xavier_uniform_(ex.b1)
        if self.bias.dim() == 2:
            nn.init.xavier_uniform_(self.bias)
        for p in self.router.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def active_params_per_token(self) -> int:
        """Expert parameters one token uses (router excluded)."""
        n = self.top_k * self.experts.num_params_per_expert() + self.embed_dims
        if self.shared_experts is not None:
            n += self.shared_experts.num_params_per_expert()
        return n

    def router_params(self) -> int:
        return sum(p.numel() for p in self.router.parameters())

    def forward(self,
                x: Tensor,
                valid: Optional[Tensor] = None,
                context: Optional[Tensor] = None) -> Tensor:
        """Args:
            x: (B, N, C) tokens of ``B`` images, or (T, C) of one image.
            valid: optional (B, N) / (T,) bool, False for padding: padded
                tokens are neither routed nor computed (their output is the
                layer's bias) and do not count in losses or statistics.
            context: optional (B, N) / (T,) bool, the tokens that may shape
                their image's summary in a hierarchical router (False e.g.
                for DETR denoising queries); None = all valid tokens.

        Returns:
            Same shape and dtype as ``x``.
        """
        shape = x.shape
        if self.check_finite:
            self._check_finite(x)
        flat, layout, selected = flatten_tokens(x, valid, context)
        # Routing in fp32 whatever the autocast state: autocast would recast
        # the router's matmuls to bf16/fp16, whose rounding ties the
        # replicated logits of an upcycled layer (tokens then mix slices of
        # different copies) and perturbs top-k choices.
        with torch.autocast(flat.device.type, enabled=False):
            route = self.router(flat, layout)
        keep = None
        if self.capacity_factor is not None and (self.training
                                                 or self.capacity_at_test):
            capacity = math.ceil(self.capacity_factor * flat.shape[0] *
                                 self.top_k / self.num_experts)
            # the router's confidence decides who is kept, not position
            keep = capacity_keep_mask(route.indices, self.num_experts,
                                      capacity,
                                      route.probs.max(dim=-1).values)
        weights = route.weights
        if not self.training:
            check_expert_budget(self.top_k, self.test_top_k, self.test_top_p)
            budget = expert_budget_mask(
                route.probs.gather(1, route.indices), self.test_top_k,
                self.test_top_p)
            if budget is not None:
                weights = rescale_kept(weights, budget)
                keep = budget if keep is None else keep & budget
        if self.routed_scale != 1.0:  # on (T, k) weights, not (T, C) output
            weights = weights * self.routed_scale
        out = dispatch(flat, weights, route.indices, self.experts,
                       self.dispatch, keep)
        if self.bias.dim() == 2:  # per expert: sum_j w_j b_{i_j}, kept slots
            slot = weights if keep is None else weights * keep
            out = out + (slot.unsqueeze(-1).to(out.dtype) *
                         self.bias.to(out.dtype)[route.indices]).sum(1)
        if self.shared_experts is not None:
            out = out + self.shared_experts.forward_all(flat)[0]
        if selected is not None:  # padding: zeros before the bias
            out = out.new_zeros(selected.shape[0], out.shape[1]).index_put(
                (selected.nonzero().squeeze(1), ), out)
        if self.bias.dim() == 1:
            out = out + self.bias.to(out.dtype)
        if self.training and self.record_aux:
            self._record_aux(route, keep)
        if self.training and self.keep_routing:
            self._routing.append(
                RoutingRecord(route, layout, selected, shape[:-1]))
        if self.stats.enabled:
            self.stats.update(
                route.indices, layout, keep,
                route.group_indices if route.group_indices is not None
                and route.group_indices.shape[0] == layout.num_images else
                None)
        return out.view(shape)

    def _check_finite(self, x: Tensor) -> None:
        """Raise on the first token of ``x`` (B, N, C) / (T, C) that holds a
        NaN or inf."""
        bad = ~torch.isfinite(x).all(-1)
        if not bad.any():
            return
        first = [int(i) for i in bad.nonzero()[0]]
        where = (f'image {first[0]}, token {first[1]}'
                 if x.dim() == 3 else f'token {first[0]}')
        values = x[tuple(first)]
        kind = 'NaN' if torch.isnan(values).any() else 'inf'
        raise FloatingPointError(
            f'MoE layer {self.name or "(unnamed)"}: its input holds {kind} '
            f'at {where} ({int(bad.sum())} of {bad.numel()} tokens are not '
            'finite): the layer before it produced them')

    def _record_aux(self, route: RouterOutput, keep: Optional[Tensor]) -> None:
        """Add this pass's weighted routing losses to the pending ones."""
        new = {}
        if self.balance_loss_weight > 0:
            new['loss_moe_balance'] = self.balance_loss_weight * \
                load_balancing_loss(route.probs, route.indices,
                                    self.loss_scope)
        if self.z_loss_weight > 0:
            new['loss_moe_z'] = self.z_loss_weight * router_z_loss(
                route.logits, self.loss_scope)
        new.update(self.router.losses(route, self.loss_scope))
        if keep is not None:
            new['moe_dropped_slots'] = (~keep).sum().float()
        for name, value in new.items():
            self._aux[name] = self._aux[name] + value \
                if name in self._aux else value

    def pop_aux_losses(self) -> dict[str, Tensor]:
        """The routing losses of training passes since the last pop."""
        aux, self._aux = self._aux, {}
        return aux

    def pop_routing(self) -> list[RoutingRecord]:
        """The routing of training passes since the last pop, in call
        order (recorded while ``keep_routing`` is on)."""
        routing, self._routing = self._routing, []
        return routing

    def extra_repr(self) -> str:
        return (f'top_k={self.top_k}, routed_scale={self.routed_scale}, '
                f'capacity_factor={self.capacity_factor}, '
                f'capacity_at_test={self.capacity_at_test}, '
                f'output_bias={self.output_bias!r}, init={self.init!r}, '
                f'test_top_k={self.test_top_k}, test_top_p={self.test_top_p}, '
                f'dispatch={self.dispatch!r}')
