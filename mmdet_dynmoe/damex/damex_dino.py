"""DAMEXDINO: DINO whose MoE routers learn which dataset a token comes from."""
from __future__ import annotations

from typing import Optional

from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor

from mmdet_dynmoe.models import MoEDINO, add_routing_losses
from mmdet_dynmoe.moe import RoutingRecord, importance_load_loss, moe_layers
from mmdet_dynmoe.moe.collect import check_reduction
from .damex_dino_head import DAMEXDINOHead
from .dataset_expert_map import DatasetExpertMap, DatasetExperts
from .routing_target_loss import routing_target_loss

#: which decoder tokens the routing loss counts.
ROUTING_LOSS_TOKENS = ('all', 'foreground')
#: what the routing loss is: DAMEX's, or the official code's MoE baseline's.
ROUTING_LOSSES = ('dataset_target', 'importance_load')


@MODELS.register_module()
class DAMEXDINO(MoEDINO):
    """MoE DINO trained with DAMEX's dataset-aware routing loss.

    In training, every MoE token of an image is taught (cross-entropy of the
    router logits, :func:`routing_target_loss`) to go to the expert(s)
    ``dataset_experts`` maps the image's dataset to; the dataset comes from
    ``DetDataSample.metainfo['dataset_name']``, which
    :class:`~mmdet_dynmoe.datasets.DatasetMixture` adds. The loss is
    computed here, after the detector's forward pass, from the routing the
    MoE layers recorded (:class:`~mmdet_dynmoe.moe.RoutingRecord`). At test
    time no dataset id is read: the router decides alone.

    The official code trains its plain-MoE baseline with the same model and
    ``damex=False``; ``routing_loss='importance_load'`` is that baseline:
    tutel's importance + load loss (:func:`~mmdet_dynmoe.moe.
    importance_load_loss`) on the matched queries, no dataset targets.

    Args:
        dataset_experts: ``{dataset name: expert index or indices}``;
            required with ``routing_loss='dataset_target'``, unused (None)
            with ``'importance_load'``.
        routing_loss: ``'dataset_target'`` (DAMEX, default: cross-entropy
            to the dataset's experts, loss ``loss_moe_routing_target``) or
            ``'importance_load'`` (the official code's non-DAMEX baseline,
            ``loss_moe_importance_load``; needs routers with gate noise).
        routing_loss_weight: weight of the routing loss (DAMEX: 0.1), > 0.
        routing_loss_reduction: over the MoE layers, ``'mean'`` (DAMEX,
            default) or ``'sum'``.
        routing_loss_tokens: ``'all'`` (DAMEX: every decoder query) or
            ``'foreground'`` (only the queries the last decoder layer's
            Hungarian matching pairs with a box; needs
            ``bbox_head=dict(type='DAMEXDINOHead')``).
        *args, **kwargs: :class:`MoEDINO`'s (``moe_cfg`` is required).
    """

    def __init__(self,
                 *args,
                 dataset_experts: Optional[DatasetExperts] = None,
                 routing_loss: str = 'dataset_target',
                 routing_loss_weight: float = 0.1,
                 routing_loss_reduction: str = 'mean',
                 routing_loss_tokens: str = 'all',
                 **kwargs) -> None:
        if routing_loss not in ROUTING_LOSSES:
            raise ValueError(f'DAMEXDINO: routing_loss must be one of '
                             f'{list(ROUTING_LOSSES)}, got {routing_loss!r}')
        if (dataset_experts is None) != (routing_loss == 'importance_load'):
            raise ValueError(
                "DAMEXDINO: routing_loss='dataset_target' needs "
                'dataset_experts={dataset name: expert}; '
                "routing_loss='importance_load' reads no dataset (set "
                'dataset_experts=None)')
        if routing_loss_tokens not in ROUTING_LOSS_TOKENS:
            raise ValueError(f'DAMEXDINO: routing_loss_tokens must be one of '
                             f'{list(ROUTING_LOSS_TOKENS)}, got '
                             f'{routing_loss_tokens!r}')
        if not routing_loss_weight > 0:
            raise ValueError(f'DAMEXDINO: routing_loss_weight='
                             f'{routing_loss_weight} must be > 0 (DAMEX: '
                             '0.1); without it use MoEDINO')
        super().__init__(*args, **kwargs)
        layers = moe_layers(self)
        if not layers:
            raise ValueError('DAMEXDINO needs MoE layers: set moe_cfg')
        sizes = {layer.num_experts for _, layer in layers}
        if len(sizes) != 1:
            raise ValueError(f'DAMEXDINO: all MoE layers need the same number '
                             f'of experts, got {sorted(sizes)}')
        for _, layer in layers:
            layer.keep_routing = True  # read by routing_loss()
        num_experts = sizes.pop()
        self.dataset_experts = None if dataset_experts is None else \
            DatasetExpertMap(dataset_experts, num_experts)
        #: the routers' gate-noise std (the importance + load loss's scale)
        self.gate_noise_std = 0.0
        if routing_loss == 'importance_load':
            stds = {
                float(getattr(layer.router, 'noise_std', 0.0))
                for _, layer in layers
            }
            if len(stds) != 1 or not min(stds) > 0:
                raise ValueError(
                    "DAMEXDINO: routing_loss='importance_load' normalises "
                    "the load by the routers' gate noise, which must be one "
                    f'value > 0 for all MoE layers (got {sorted(stds)}); set '
                    'moe_cfg router_cfg=dict(noise_std=...) (tutel: '
                    'gate_noise / E)')
            self.gate_noise_std = stds.pop()
        self.routing_loss_weight = float(routing_loss_weight)
        self.routing_loss_reduction = check_reduction(routing_loss_reduction)
        self.routing_loss_tokens = routing_loss_tokens
        if routing_loss_tokens == 'foreground':
            not_decoder = [
                name for name in self.moe_ffn_names
                if not name.startswith('decoder.')
            ]
            if not_decoder:
                raise ValueError(
                    "DAMEXDINO: routing_loss_tokens='foreground' counts "
                    'matched decoder queries, but these MoE layers are not '
                    f'in the decoder: {not_decoder}')
            if not isinstance(self.bbox_head, DAMEXDINOHead):
                raise TypeError(
                    "DAMEXDINO: routing_loss_tokens='foreground' needs the "
                    "head that records the matching: set model.bbox_head="
                    f"dict(type='DAMEXDINOHead') (got "
                    f'{type(self.bbox_head).__name__})')

    def image_targets(self, batch_data_samples: SampleList) -> Tensor:
        """(B, E) target expert distribution of each training image."""
        names = []
        for sample in batch_data_samples:
            if 'dataset_name' not in sample.metainfo:
                raise ValueError(
                    'DAMEX routing loss is on but a training sample has no '
                    "'dataset_name' in its metainfo: train on a "
                    "DatasetMixture (it adds 'dataset_id'/'dataset_name' to "
                    'every sample)')
            names.append(sample.metainfo['dataset_name'])
        return self.dataset_experts.targets(names)

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        """MoEDINO's losses plus ``loss_moe_routing_target`` (or, with
        ``routing_loss='importance_load'``, ``loss_moe_importance_load``)."""
        targets = None if self.dataset_experts is None else \
            self.image_targets(batch_data_samples).to(batch_inputs.device)
        losses = super().loss(batch_inputs, batch_data_samples)
        matched = self.bbox_head.pop_matched_queries() \
            if self.routing_loss_tokens == 'foreground' else None
        records = [(layer.loss_scope, layer.pop_routing())
                   for _, layer in moe_layers(self)]
        loss = self.routing_loss(records, targets, matched)
        if loss is None:
            return losses
        name = 'loss_moe_routing_target' if targets is not None else \
            'loss_moe_importance_load'
        return add_routing_losses(losses, {name: loss})

    def routing_loss(self,
                     records: list[tuple[str, list[RoutingRecord]]],
                     image_targets: Optional[Tensor],
                     token_mask: Optional[Tensor] = None) -> Optional[Tensor]:
        """Weighted routing loss over the layers' training passes.

        Args:
            records: per MoE layer, its loss scope and its training passes
                (:meth:`MoELayer.pop_routing`).
            image_targets: (B, E) expert distribution per image, or None
                for the importance + load loss (which reads no dataset).
            token_mask: optional (B, N) bool of the tokens that count
                (foreground queries); None = every routed token.

        Returns:
            Scalar loss, None when no layer recorded a pass.
        """
        used = [(scope, passes) for scope, passes in records if passes]
        if not used:
            return None
        weight = self.routing_loss_weight
        if self.routing_loss_reduction == 'mean':
            weight = weight / len(used)
        total = None
        for scope, passes in used:
            for record in passes:
                logits, indices = record.route.logits, record.route.indices
                chosen = None if token_mask is None else \
                    record.routed(token_mask)
                if chosen is not None:
                    logits, indices = logits[chosen], indices[chosen]
                if image_targets is None:
                    loss = importance_load_loss(logits, indices,
                                                self.gate_noise_std)
                else:
                    targets = image_targets[record.layout.image_index]
                    if chosen is not None:
                        targets = targets[chosen]
                    loss = routing_target_loss(logits, targets, scope)
                total = weight * loss if total is None else \
                    total + weight * loss
        return total
