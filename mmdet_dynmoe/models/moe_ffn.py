"""MoEFFN: the mmdet-facing drop-in for mmcv's ``FFN`` (adapter only).

The routing, experts, dispatch and losses live in :mod:`mmdet_dynmoe.moe`;
this module maps mmcv's FFN contract (constructor keys, ``forward(x,
identity)`` with the residual, dropout and layer scale) onto
:class:`~mmdet_dynmoe.moe.MoELayer`, and upcycles a built dense ``FFN``.
"""
from __future__ import annotations

import copy
import inspect
import warnings
from typing import Optional

from mmcv.cnn import build_activation_layer
from mmcv.cnn.bricks.drop import build_dropout
from mmcv.cnn.bricks.scale import LayerScale
from mmcv.cnn.bricks.transformer import FFN
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet_dynmoe.moe import MoELayer, upcycle_dense_mlp
from mmdet_dynmoe.moe.config_checks import check_int

#: what loading a dense FFN into a MoEFFN may do (``dense_checkpoint``).
DENSE_CHECKPOINT = ('upcycle', 'keep_init')

#: state-dict keys of a dense two-layer mmcv FFN (relative to its prefix).
DENSE_FFN_KEYS = ('layers.0.0.weight', 'layers.0.0.bias', 'layers.1.weight',
                  'layers.1.bias')


def _expert_channels(feedforward_channels: int, granularity: Optional[int],
                     expert_channels: Optional[int]) -> int:
    """Hidden size of one expert from ``granularity`` or ``expert_channels``."""
    if granularity is not None:
        check_int('granularity', granularity)
        if feedforward_channels % granularity:
            divisors = [
                g for g in range(1,
                                 min(feedforward_channels, 64) + 1)
                if feedforward_channels % g == 0
            ]
            raise ValueError(
                f'feedforward_channels={feedforward_channels} is not '
                f'divisible by granularity={granularity}; allowed '
                f'granularities are its divisors, e.g. {divisors}')
        from_k = feedforward_channels // granularity
        if expert_channels is not None and expert_channels != from_k:
            raise ValueError(
                f'expert_channels={expert_channels} contradicts granularity='
                f'{granularity} (feedforward_channels / granularity = '
                f'{from_k}); give one of them')
        return from_k
    if expert_channels is not None:
        return check_int('expert_channels', expert_channels)
    return feedforward_channels


#: ``moe_cfg`` keys that moved to the method that owns them.
MOVED_KEYS = {
    'group_balance_loss_weight':
    "router_cfg=dict(type='HierarchicalRouter', group_balance_loss_weight=...)",
    'diversity_loss_weight':
    "router_cfg=dict(type='HierarchicalRouter', diversity_loss_weight=...)",
    'routing_target_loss_weight':
    "model=dict(type='DAMEXDINO', routing_loss_weight=...) (DAMEX; 'mean' "
    'over the MoE layers by default, see routing_loss_reduction)',
}


def _check_moe_cfg(moe_cfg: dict) -> dict:
    """Refuse keys neither mmcv FFN nor MoELayer knows, naming the allowed."""
    moved = sorted(set(moe_cfg) & set(MOVED_KEYS))
    if moved:
        raise TypeError('MoEFFN: ' +
                        '; '.join(f'{key} moved to {MOVED_KEYS[key]}'
                                  for key in moved))
    allowed = set(inspect.signature(MoELayer).parameters) - {
        'embed_dims', 'hidden_channels', 'num_experts', 'top_k', 'activation',
        'dropout'
    }
    unknown = sorted(set(moe_cfg) - allowed)
    if unknown:
        raise TypeError(f'MoEFFN got unknown keys {unknown}; MoE keys besides '
                        'num_experts, top_k, granularity, expert_channels: '
                        f'{sorted(allowed)}')
    return moe_cfg


@MODELS.register_module()
class MoEFFN(BaseModule):
    """Mixture-of-Experts FFN with mmcv ``FFN``'s interface.

    ``out = identity + dropout_layer(gamma2(drop(MoE(x))))`` where MoE is
    ``routed_scale * sum_j w_j expert_j(x) + shared(x) + bias``; with
    ``pre_norm`` the MoE reads ``LayerNorm(x)``.

    Args:
        embed_dims, feedforward_channels, act_cfg, ffn_drop, dropout_layer,
        add_identity, init_cfg, layer_scale_init_value: as in mmcv ``FFN``.
        num_fcs: must be 2 (experts are two-layer MLPs).
        num_experts: routed experts ``E``.
        top_k: experts per token.
        granularity: ``k`` of fine-grained experts: expert hidden size
            ``feedforward_channels / k``.
        expert_channels: expert hidden size given directly (alternative to
            ``granularity``; default ``feedforward_channels``).
        pre_norm: normalise the MoE's input with a LayerNorm of its own,
            and let the enclosing DETR layer skip the norm it applies after
            the FFN (``ffn_replacement.replace_ffns`` does that):
            ``x + MoE(LN(x))`` instead of mmdet's post-norm
            ``LN(x + MoE(x))``. The official DAMEX code's MoE block is
            pre-norm inside an otherwise post-norm decoder layer.
        dense_checkpoint: what loading a *dense* FFN's weights into this
            layer does: ``'upcycle'`` (default: split them into the experts,
            exact when the experts are an upcycling, ``num_copies`` x
            ``granularity``; an error otherwise) or ``'keep_init'`` (load
            every other weight of the dense model and leave this layer's
            fresh experts and router as initialised, e.g. ``num_experts`` /
            ``top_k`` experts trained from a dense detector).
        **moe_cfg: the remaining :class:`~mmdet_dynmoe.moe.MoELayer` keys,
            with its defaults: ``router_cfg`` (``dict(type='TopKRouter',
            normalize=True, noise_std=0., jitter_eps=0.)``),
            ``num_shared_experts`` (0; always-on experts of
            ``expert_channels``), ``routed_scale`` (1.0; upcycling sets
            ``k``), ``capacity_factor`` (None = dropless; dropped slots are
            logged as ``moe_dropped_slots``), ``dispatch`` (``'auto'`` |
            ``'loop'`` | ``'grouped_mm'`` | ``'dense'``),
            ``balance_loss_weight`` (0 = off; Dynamic-DINO uses 0.01),
            ``z_loss_weight`` (0 = off; ST-MoE uses 0.001), ``loss_scope``
            (``'global'`` over DDP processes, or ``'local'``).

    Shapes: ``x`` (..., embed_dims) -> same; per-image statistics expect
    (B, N, embed_dims), mmdet's ``batch_first`` layout.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 feedforward_channels: int = 1024,
                 num_fcs: int = 2,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 ffn_drop: float = 0.,
                 dropout_layer: Optional[dict] = None,
                 add_identity: bool = True,
                 init_cfg: Optional[dict] = None,
                 layer_scale_init_value: float = 0.,
                 num_experts: int = 8,
                 top_k: int = 2,
                 granularity: Optional[int] = None,
                 expert_channels: Optional[int] = None,
                 dense_checkpoint: str = 'upcycle',
                 pre_norm: bool = False,
                 **moe_cfg) -> None:
        super().__init__(init_cfg)
        if dense_checkpoint not in DENSE_CHECKPOINT:
            raise ValueError(f'MoEFFN: dense_checkpoint={dense_checkpoint!r};'
                             f' allowed: {list(DENSE_CHECKPOINT)}')
        self.dense_checkpoint = dense_checkpoint
        if num_fcs != 2:
            raise ValueError(f'MoEFFN needs num_fcs=2 (two-layer experts), '
                             f'got num_fcs={num_fcs}')
        self.embed_dims = embed_dims
        self.feedforward_channels = feedforward_channels
        self.num_fcs = num_fcs
        self.add_identity = add_identity
        self.moe = MoELayer(
            embed_dims,
            _expert_channels(feedforward_channels, granularity,
                             expert_channels),
            num_experts,
            top_k,
            activation=build_activation_layer(act_cfg),
            dropout=ffn_drop,
            **_check_moe_cfg(moe_cfg))
        # Until a collector (an MoE detector's loss(), or
        # attach_moe_aux_losses for other models) takes the routing losses,
        # the layer does not keep them: kept tensors would hold every
        # iteration's graph alive.
        self.moe.record_aux = False
        self._warned_uncollected = False
        # (valid, context) masks of the next forward call only, set by the
        # enclosing DETR layer's pre-hook (see token_masks.py)
        self._token_masks: tuple[Optional[Tensor],
                                 Optional[Tensor]] = (None, None)
        self.out_drop = nn.Dropout(ffn_drop)
        self.dropout_layer = build_dropout(
            dropout_layer) if dropout_layer else nn.Identity()
        self.gamma2 = LayerScale(embed_dims, scale=layer_scale_init_value) \
            if layer_scale_init_value > 0 else nn.Identity()
        self.pre_norm = bool(pre_norm)
        self.norm = nn.LayerNorm(embed_dims) if pre_norm else nn.Identity()

    def set_token_masks(self, valid: Optional[Tensor],
                        context: Optional[Tensor]) -> None:
        """Masks for the next forward call only (see :mod:`.token_masks`).

        Args:
            valid: (B, N) bool, False at padding (not routed or computed).
            context: (B, N) bool, False at tokens that must not shape their
                image's scene summary (DETR denoising queries).
        """
        self._token_masks = (valid, context)

    def forward(self, x: Tensor, identity: Optional[Tensor] = None) -> Tensor:
        """x: (B, N, embed_dims) or (T, embed_dims); identity: same shape or
        None (= x). Masks set by :meth:`set_token_masks` apply to this call.
        """
        valid, context = self._token_masks
        self._token_masks = (None, None)
        if self.training and not self.moe.record_aux and \
                not self._warned_uncollected:
            self._warned_uncollected = True
            warnings.warn(
                'MoEFFN is training but no detector collects its routing '
                'losses (load balancing, z-loss); use an MoE detector '
                "(MoEDINO, ... with moe_cfg), add custom_hooks=["
                "dict(type='MoEAuxLossHook')], or build MoE layers with "
                'upcycle_ffns(), which attach the collector')
        out = self.gamma2(
            self.out_drop(
                self.moe(self.norm(x), valid=valid, context=context)))
        if not self.add_identity:
            return self.dropout_layer(out)
        return (x if identity is None else identity) + self.dropout_layer(out)

    @classmethod
    def like(cls, ffn: nn.Module, **moe_kwargs) -> 'MoEFFN':
        """A fresh MoEFFN shaped like a built dense mmcv ``FFN``.

        Takes the FFN's ``embed_dims``, ``feedforward_channels``, dropout and
        residual, and copies its activation, residual dropout layer and layer
        scale (their configs are not stored on a built FFN); the result sits
        on the FFN's device and dtype. Weights are not copied (see
        :meth:`from_dense`). An ``act_cfg`` or ``dropout_layer`` in
        ``moe_kwargs`` replaces the FFN's (e.g. the official DAMEX code's
        GELU experts and drop-path 0.2).

        Args:
            ffn: a two-layer mmcv ``FFN`` (``num_fcs=2``).
            **moe_kwargs: MoE keys of :class:`MoEFFN` (``num_experts``,
                ``top_k``, ``granularity``, ``router_cfg``, ...).
        """
        if not isinstance(ffn, FFN) or getattr(ffn, 'num_fcs', None) != 2:
            raise TypeError(
                f'a two-layer mmcv FFN (num_fcs=2) is needed, got '
                f'{type(ffn).__name__}'
                f'{"" if not isinstance(ffn, FFN) else f" with num_fcs={ffn.num_fcs}"}'
            )
        for key in ('embed_dims', 'feedforward_channels'):
            if key in moe_kwargs:
                raise ValueError(f'{key} comes from the dense FFN; do not '
                                 'pass it')
        fc1, act, drop = ffn.layers[0]
        moe_ffn = cls(
            embed_dims=ffn.embed_dims,
            feedforward_channels=ffn.feedforward_channels,
            ffn_drop=drop.p,
            add_identity=ffn.add_identity,
            **moe_kwargs)
        if 'act_cfg' not in moe_kwargs:
            moe_ffn.moe.experts.activation = copy.deepcopy(act)
        if 'dropout_layer' not in moe_kwargs:
            moe_ffn.dropout_layer = copy.deepcopy(ffn.dropout_layer)
        moe_ffn.gamma2 = copy.deepcopy(ffn.gamma2)
        return moe_ffn.to(device=fc1.weight.device, dtype=fc1.weight.dtype)

    @classmethod
    def from_dense(cls, ffn: nn.Module, num_copies: int, granularity: int,
                   **moe_kwargs) -> 'MoEFFN':
        """Upcycle a built dense mmcv ``FFN`` into ``num_copies * k`` experts.

        The result reproduces ``ffn`` exactly (up to float rounding) until it
        is trained: each copy's first linear is split into ``k`` row blocks,
        the second into the matching column blocks, the output bias shared,
        and the router initialised so that each token picks the ``k`` slices
        of one copy (see :mod:`mmdet_dynmoe.moe.upcycle`). Active expert
        parameters per token equal the dense FFN's.

        Args:
            ffn: a two-layer mmcv ``FFN`` (``num_fcs=2``).
            num_copies: ``N``.
            granularity: ``k`` (also the default ``top_k``).
            **moe_kwargs: other :class:`MoEFFN` keys (``router_cfg``,
                ``dispatch``, loss weights, ...). ``top_k`` other than ``k``
                is refused: the start would not equal the dense model.
        """
        check_int('num_copies', num_copies)
        check_int('granularity', granularity)
        for key in ('num_experts', 'expert_channels'):
            if key in moe_kwargs:
                raise ValueError(f'from_dense sets {key} itself; do not pass '
                                 'it')
        top_k = moe_kwargs.pop('top_k', granularity)
        if top_k != granularity:
            raise ValueError(f'from_dense: top_k={top_k} must equal '
                             f'granularity={granularity} for the upcycled '
                             'layer to start at the dense output')
        moe_ffn = cls.like(
            ffn,
            num_experts=num_copies * granularity,
            top_k=granularity,
            granularity=granularity,
            **moe_kwargs)
        fc1, fc2 = ffn.layers[0][0], ffn.layers[1]
        upcycle_dense_mlp(moe_ffn.moe, fc1.weight, fc1.bias, fc2.weight,
                          fc2.bias, num_copies, granularity)
        return moe_ffn

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        """Also load a *dense* FFN's weights, upcycling them on the fly.

        A checkpoint of the dense model (``layers.0.0.weight`` ... under
        this module's prefix) is split into this layer's experts exactly as
        :meth:`from_dense` does, with a fresh upcycled router, so
        ``load_from=<dense checkpoint>`` starts MoE-Tuning at the dense
        model. MoE checkpoints (resume) load as usual; one whose MoE layer
        has other shapes (another expert count, width or router) is an
        error naming the layer and both shapes, not a size-mismatch warning
        that leaves random experts.
        """
        if prefix + DENSE_FFN_KEYS[0] in state_dict and \
                prefix + 'moe.experts.w1' not in state_dict:
            self._upcycle_dense_state(state_dict, prefix)
        else:
            self._check_moe_shapes(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_moe_shapes(self, state_dict: dict, prefix: str) -> None:
        """Raise when the checkpoint's MoE entries of this layer have other
        shapes than the built layer's."""
        own = self.moe.state_dict(prefix=prefix + 'moe.')
        bad = [(k, tuple(state_dict[k].shape), tuple(v.shape))
               for k, v in own.items()
               if k in state_dict and hasattr(state_dict[k], 'shape')
               and tuple(state_dict[k].shape) != tuple(v.shape)]
        if bad:
            name = prefix[:-1] or type(self).__name__
            lines = '; '.join(f'{k[len(prefix):]}: checkpoint {c}, config '
                              f'{m}' for k, c, m in bad)
            raise ValueError(
                f'{name}: the checkpoint\'s MoE layer does not match the '
                f'config ({lines}); the config builds num_experts='
                f'{self.moe.num_experts} of {self.moe.experts.hidden_channels}'
                ' channels: make moe_cfg match the checkpoint\'s model')

    def _upcycle_dense_state(self, state_dict: dict, prefix: str) -> None:
        """Upcycle the dense FFN entries of ``state_dict`` into this layer
        and replace them by the layer's own entries."""
        w1, b1, w2, b2 = (state_dict.pop(prefix + k) for k in DENSE_FFN_KEYS)
        name = prefix[:-1] or type(self).__name__
        if self.dense_checkpoint == 'keep_init':  # the layer's own weights
            state_dict.update(self.moe.state_dict(prefix=prefix + 'moe.'))
            return
        expect = (self.feedforward_channels, self.embed_dims)
        if tuple(w1.shape) != expect:
            raise ValueError(
                f'{name}: the dense checkpoint\'s FFN is '
                f'{w1.shape[1]}->{w1.shape[0]}->{w1.shape[1]} but the config '
                f'builds embed_dims={self.embed_dims}, feedforward_channels='
                f'{self.feedforward_channels}; make them match the dense '
                'model')
        granularity = max(
            self.feedforward_channels // self.moe.experts.hidden_channels, 1)
        try:
            upcycle_dense_mlp(self.moe, w1, b1, w2, b2,
                              self.moe.num_experts // granularity, granularity)
        except ValueError as e:
            raise ValueError(
                f'{name}: cannot upcycle the dense FFN of the checkpoint: '
                f'{e}. To start these experts fresh and load the rest of the '
                "dense model, set moe_cfg dense_checkpoint='keep_init'") from e
        state_dict.update(self.moe.state_dict(prefix=prefix + 'moe.'))
