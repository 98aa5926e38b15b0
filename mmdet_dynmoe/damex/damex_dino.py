"""DAMEXDINO: DINO whose MoE routers learn which dataset a token comes from."""
from __future__ import annotations

import torch
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor

from mmdet_dynmoe.models import MoEFFN
from mmdet_dynmoe.models.detectors import MoEDINO
from mmdet_dynmoe.moe import moe_layers

from .dataset_expert_map import DatasetExpertMap, DatasetExperts


@MODELS.register_module()
class DAMEXDINO(MoEDINO):
    """MoE DINO trained with DAMEX's dataset-aware routing loss.

    In training, every MoE token of an image is taught (cross-entropy of the
    router logits, ``routing_target_loss_weight`` in ``moe_cfg``) to go to
    the expert(s) ``dataset_experts`` maps the image's dataset to; the
    dataset comes from ``DetDataSample.metainfo['dataset_name']``, which
    :class:`~mmdet_dynmoe.damex.DatasetMixture` adds. At test time no dataset
    id is read: the router decides alone.

    Args:
        dataset_experts: ``{dataset name: expert index or indices}``.
        *args, **kwargs: :class:`MoEDINO`'s (``moe_cfg`` must set
            ``routing_target_loss_weight > 0``).
    """

    def __init__(self, *args, dataset_experts: DatasetExperts,
                 routing_loss_tokens: str = 'all', **kwargs) -> None:
        if routing_loss_tokens not in ('all', 'foreground'):
            raise ValueError(f"DAMEXDINO: routing_loss_tokens must be 'all' "
                             f"or 'foreground', got {routing_loss_tokens!r}")
        super().__init__(*args, **kwargs)
        layers = moe_layers(self)
        if not layers:
            raise ValueError('DAMEXDINO needs MoE layers: set moe_cfg')
        sizes = {layer.num_experts for _, layer in layers}
        if len(sizes) != 1:
            raise ValueError(f'DAMEXDINO: all MoE layers need the same number '
                             f'of experts, got {sorted(sizes)}')
        if not all(layer.routing_target_loss_weight > 0
                   for _, layer in layers):
            raise ValueError('DAMEXDINO: set moe_cfg routing_target_loss_'
                             'weight > 0 (DAMEX: 0.1 averaged over layers)')
        self.dataset_experts = DatasetExpertMap(dataset_experts, sizes.pop())
        self.routing_loss_tokens = routing_loss_tokens
        not_decoder = [name for name in self.moe_ffn_names
                       if not name.startswith('decoder.')]
        if routing_loss_tokens == 'foreground' and not_decoder:
            raise ValueError(
                f"DAMEXDINO: routing_loss_tokens='foreground' counts matched "
                f'decoder queries, but these MoE layers are not in the '
                f'decoder: {not_decoder}')

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        names = []
        for sample in batch_data_samples:
            if 'dataset_name' not in sample.metainfo:
                raise ValueError(
                    'DAMEX routing loss is on but a training sample has no '
                    "'dataset_name' in its metainfo: train on a "
                    "DatasetMixture (it adds 'dataset_id'/'dataset_name' to "
                    'every sample)')
            names.append(sample.metainfo['dataset_name'])
        targets = self.dataset_experts.targets(names).to(batch_inputs.device)
        ffns = [m for m in self.modules() if isinstance(m, MoEFFN)]
        foreground = self.routing_loss_tokens == 'foreground'
        for ffn in ffns:
            ffn.set_routing_targets(targets, defer=foreground)
        try:
            if not foreground:
                return super().loss(batch_inputs, batch_data_samples)
            # DetectionTransformer.loss, keeping the head inputs for the
            # matching
            head_inputs = self.forward_transformer(
                self.extract_feat(batch_inputs), batch_data_samples)
            losses = self.bbox_head.loss(
                **head_inputs, batch_data_samples=batch_data_samples)
            matched = self.matched_queries(head_inputs, batch_data_samples)
            for ffn in ffns:
                ffn.resolve_routing_target(matched)
            return losses
        finally:
            for ffn in ffns:
                ffn.set_routing_targets(None)

    @torch.no_grad()
    def matched_queries(self, head_inputs: dict,
                        batch_data_samples: SampleList) -> Tensor:
        """Queries the last decoder layer's Hungarian matching assigns a box.

        Args:
            head_inputs: :meth:`forward_transformer`'s output for the batch
                (``hidden_states`` (L, B, Q, C), ``references``,
                ``dn_meta``).
            batch_data_samples: with ``gt_instances``.

        Returns:
            (B, Q) bool over the decoder's queries (denoising ones first,
            all False), True where the head's assigner pairs the matching
            query with a ground-truth box.
        """
        cls_scores, bbox_preds = self.bbox_head(head_inputs['hidden_states'],
                                                head_inputs['references'])
        dn_meta = head_inputs.get('dn_meta')
        num_dn = dn_meta['num_denoising_queries'] if dn_meta else 0
        matched = torch.zeros(cls_scores.shape[1:3], dtype=torch.bool,
                              device=cls_scores.device)
        for i, sample in enumerate(batch_data_samples):
            targets = self.bbox_head._get_targets_single(
                cls_scores[-1, i, num_dn:], bbox_preds[-1, i, num_dn:],
                sample.gt_instances, sample.metainfo)
            matched[i, num_dn + targets[4]] = True  # pos_inds
        return matched
