"""DAMEXDINO: DINO whose MoE routers learn which dataset a token comes from."""
from __future__ import annotations

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
                 **kwargs) -> None:
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
        for ffn in ffns:
            ffn.set_routing_targets(targets)
        try:
            return super().loss(batch_inputs, batch_data_samples)
        finally:
            for ffn in ffns:
                ffn.set_routing_targets(None)
