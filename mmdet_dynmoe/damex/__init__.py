"""DAMEX: dataset-aware mixture of experts (Jain et al., NeurIPS 2023).

Map:

- ``damex_dino.py``: :class:`DAMEXDINO`, MoE DINO whose routers learn, per
  image, the expert(s) of its dataset (the routing loss is computed here,
  from the MoE layers' recorded routing); no dataset id at test time.
- ``damex_dino_head.py``: :class:`DAMEXDINOHead`, DINO's head recording
  its Hungarian matching, for the routing loss on foreground queries only.
- ``routing_target_loss.py``: the cross-entropy of router logits against
  expert targets.
- ``dataset_expert_map.py``: :class:`DatasetExpertMap`, dataset name ->
  expert(s), checked against the experts.
- ``dataset_experts_hook.py``: :class:`DatasetExpertsHook`, the map
  checked against the training mixture before training.
- ``dataset_routing.py``: routing purity and expert load per dataset
  (``tools/analyze_dataset_routing.py``).

The multi-dataset data layer it trains on is generic and lives by kind:
:class:`~mmdet_dynmoe.datasets.DatasetMixture`, label spaces, samplers and
``TagDatasetSource`` in :mod:`mmdet_dynmoe.datasets`,
:class:`~mmdet_dynmoe.evaluation.PerDatasetMetric` in
:mod:`mmdet_dynmoe.evaluation`; the VOC converter is
``tools/dataset_converters/voc_to_coco.py``.

Config keys it adds: ``model.type='DAMEXDINO'``, ``dataset_experts``,
``routing_loss_weight``, ``routing_loss_reduction``,
``routing_loss_tokens`` (``'foreground'`` with
``bbox_head=dict(type='DAMEXDINOHead')``);
``custom_hooks=[dict(type='DatasetExpertsHook')]``. Configs:
``configs/damex/``.
"""
from .damex_dino import DAMEXDINO
from .damex_dino_head import DAMEXDINOHead
from .dataset_expert_map import DatasetExpertMap, DatasetExperts
from .dataset_experts_hook import DatasetExpertsHook
from .dataset_routing import (expert_load_by_dataset, routing_purity,
                              top_expert_share)
from .routing_target_loss import routing_target_loss

__all__ = [
    'DAMEXDINO', 'DAMEXDINOHead', 'DatasetExpertMap', 'DatasetExperts',
    'DatasetExpertsHook', 'expert_load_by_dataset', 'routing_purity',
    'top_expert_share', 'routing_target_loss'
]
