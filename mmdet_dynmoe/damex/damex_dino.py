"""DAMEXDINO: DINO whose MoE routers learn which dataset a token comes from."""
from __future__ import annotations

from typing import Optional

from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor

from mmdet_dynmoe.models import MoEDINO, add_routing_losses
from mmdet_dynmoe.moe import RoutingRecord, moe_layers
from mmdet_dynmoe.moe.collect import check_reduction
from .damex_dino_head import DAMEXDINOHead
from .dataset_expert_map import DatasetExpertMap, DatasetExperts
from .routing_target_loss import routing_target_loss

#: which decoder tokens the routing loss counts.
ROUTING_LOSS_TOKENS = ('all', 'foreground')


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

    Args:
        dataset_experts: ``{dataset name: expert index or indices}``.
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
                 dataset_experts: DatasetExperts,
                 routing_loss_weight: float = 0.1,
                 routing_loss_reduction: str = 'mean',
                 routing_loss_tokens: str = 'all',
                 **kwargs) -> None:
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
        self.dataset_experts = DatasetExpertMap(dataset_experts, sizes.pop())
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
        """MoEDINO's losses plus ``loss_moe_routing_target``."""
        targets = self.image_targets(batch_data_samples).to(
            batch_inputs.device)
        losses = super().loss(batch_inputs, batch_data_samples)
        matched = self.bbox_head.pop_matched_queries() \
            if self.routing_loss_tokens == 'foreground' else None
        records = [(layer.loss_scope, layer.pop_routing())
                   for _, layer in moe_layers(self)]
        loss = self.routing_loss(records, targets, matched)
        if loss is None:
            return losses
        return add_routing_losses(losses, {'loss_moe_routing_target': loss})

    def routing_loss(self,
                     records: list[tuple[str, list[RoutingRecord]]],
                     image_targets: Tensor,
                     token_mask: Optional[Tensor] = None) -> Optional[Tensor]:
        """Weighted routing-target loss over the layers' training passes.

        Args:
            records: per MoE layer, its loss scope and its training passes
                (:meth:`MoELayer.pop_routing`).
            image_targets: (B, E) expert distribution per image.
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
                logits = record.route.logits
                targets = image_targets[record.layout.image_index]
                if token_mask is not None:
                    chosen = record.routed(token_mask)
                    logits, targets = logits[chosen], targets[chosen]
                loss = weight * routing_target_loss(logits, targets, scope)
                total = loss if total is None else total + loss
        return total
